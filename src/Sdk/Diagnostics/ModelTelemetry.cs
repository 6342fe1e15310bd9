using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LocalLlm;

/// <summary>
/// The <see cref="LocalLlmTelemetry"/> instruments as one client records them: every measurement carries the model
/// (<c>gen_ai.request.model</c>, the folder's id) and, for a keyed registration, <c>localllm.model.key</c>, so several
/// models in one process never merge into one series.
/// </summary>
internal sealed class ModelTelemetry
{
    public const string ModelTag = LocalLlmTelemetry.ModelTag;
    public const string KeyTag = "localllm.model.key";

    public ModelTelemetry(LocalLlmTelemetry t, string modelId, string? key)
    {
        var tags = new TagList { { ModelTag, modelId } };
        if (!string.IsNullOrEmpty(key)) tags.Add(KeyTag, key);
        TimeToFirstToken = new(t.TimeToFirstToken, tags);
        TimePerOutputToken = new(t.TimePerOutputToken, tags);
        PrefillRate = new(t.PrefillRate, tags);
        DecodeRate = new(t.DecodeRate, tags);
        OutputTokens = new(t.OutputTokens, tags);
        PromptTokens = new(t.PromptTokens, tags);
        ActiveRequests = new(t.ActiveRequests, tags);
        KvCacheLookups = new(t.KvCacheLookups, tags);
        KvCacheReusedTokens = new(t.KvCacheReusedTokens, tags);
        KvCacheBytes = new(t.KvCacheBytes, tags);
        KvCacheActiveBytes = new(t.KvCacheActiveBytes, tags);
        KvCacheGenerators = new(t.KvCacheGenerators, tags);
        KvCacheEvictions = new(t.KvCacheEvictions, tags);
        QueueDepth = new(t.QueueDepth, tags);
        QueueTime = new(t.QueueTime, tags);
        SchedulerRejected = new(t.SchedulerRejected, tags);
        BatchedRequests = new(t.BatchedRequests, tags);
        BatchingFallbacks = new(t.BatchingFallbacks, tags);
    }

    public Histogram TimeToFirstToken { get; }
    public Histogram TimePerOutputToken { get; }
    public Histogram PrefillRate { get; }
    public Histogram DecodeRate { get; }
    public Counter OutputTokens { get; }
    public Counter PromptTokens { get; }
    public UpDown ActiveRequests { get; }
    public Counter KvCacheLookups { get; }
    public Counter KvCacheReusedTokens { get; }
    public UpDown KvCacheBytes { get; }
    public UpDown KvCacheActiveBytes { get; }
    public UpDown KvCacheGenerators { get; }
    public Counter KvCacheEvictions { get; }
    public UpDown QueueDepth { get; }
    public Histogram QueueTime { get; }
    public Counter SchedulerRejected { get; }
    public Counter BatchedRequests { get; }
    public Counter BatchingFallbacks { get; }

    /// <summary>A counter with the client's tags on every measurement.</summary>
    internal sealed class Counter(Counter<long> instrument, TagList tags)
    {
        public void Add(long value) => instrument.Add(value, tags);

        public void Add(long value, KeyValuePair<string, object?> extra)
        {
            var all = tags;
            all.Add(extra);
            instrument.Add(value, all);
        }
    }

    /// <summary>An up-down counter with the client's tags on every measurement.</summary>
    internal sealed class UpDown(UpDownCounter<long> instrument, TagList tags)
    {
        public void Add(long value) => instrument.Add(value, tags);
    }

    /// <summary>A histogram with the client's tags on every measurement.</summary>
    internal sealed class Histogram(Histogram<double> instrument, TagList tags)
    {
        public void Record(double value) => instrument.Record(value, tags);
    }
}
