using System.Diagnostics.Metrics;

namespace LocalLlm.Tests.Conversations;

/// <summary>A meter factory whose meters carry their own scope, and a listener that sums only their measurements (other tests run in parallel).</summary>
internal sealed class TestMeters : IMeterFactory
{
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, long> _sums = [];
    private readonly Dictionary<string, long> _peaks = [];
    private readonly List<(string Name, long Value, bool? Hit)> _events = [];

    public TestMeters()
    {
        Telemetry = new LocalLlmTelemetry(this);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, this)) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            bool? hit = null;
            foreach (var tag in tags) if (tag.Key == "localllm.kv_cache.hit") hit = (bool)tag.Value!;
            lock (_sums)
            {
                _sums[instrument.Name] = _sums.GetValueOrDefault(instrument.Name) + value;
                _peaks[instrument.Name] = Math.Max(_peaks.GetValueOrDefault(instrument.Name), _sums[instrument.Name]);
                _events.Add((instrument.Name, value, hit));
            }
        });
        _listener.Start();
    }

    public LocalLlmTelemetry Telemetry { get; }

    public long Sum(string name) { lock (_sums) return _sums.GetValueOrDefault(name); }

    /// <summary>The highest running total an up-down counter reached.</summary>
    public long Peak(string name) { lock (_sums) return _peaks.GetValueOrDefault(name); }

    public int Count(string name, Func<long, bool?, bool> where) { lock (_sums) return _events.Count(e => e.Name == name && where(e.Value, e.Hit)); }

    public Meter Create(MeterOptions options) => new(options.Name, options.Version, options.Tags, scope: this);

    public void Dispose()
    {
        _listener.Dispose();
        Telemetry.Dispose();
    }
}
