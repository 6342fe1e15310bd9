using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LocalLlm;

/// <summary>The SDK's one ActivitySource and one Meter, both named <c>LocalLlm</c>.</summary>
public sealed class LocalLlmTelemetry : IDisposable
{
    /// <summary>The name of the ActivitySource and the Meter.</summary>
    public const string Name = "LocalLlm";

    /// <summary>The tag naming the model (the folder's id) on time-to-first-token, token, rate and queue measurements.</summary>
    internal const string ModelTag = "gen_ai.request.model";

    internal static readonly ActivitySource ActivitySource = new(Name);

    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/>, or on a meter of our own.</summary>
    public LocalLlmTelemetry(IMeterFactory? meterFactory = null)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(Name) ?? new Meter(Name);
        TimeToFirstToken = _meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s", "Time from request start to the first output token.");
        TimePerOutputToken = _meter.CreateHistogram<double>("gen_ai.server.time_per_output_token", "s", "Decode time per output token after the first.");
        PrefillRate = _meter.CreateHistogram<double>("localllm.prefill.rate", "{token}/s", "Prompt tokens processed per second.");
        DecodeRate = _meter.CreateHistogram<double>("localllm.decode.rate", "{token}/s", "Output tokens generated per second.");
        OutputTokens = _meter.CreateCounter<long>("localllm.output.tokens", "{token}", "Output tokens generated.");
        PromptTokens = _meter.CreateCounter<long>("localllm.prompt.tokens", "{token}", "Prompt tokens processed.");
        ActiveRequests = _meter.CreateUpDownCounter<long>("localllm.requests.active", "{request}", "Requests generating now.");
        KvCacheLookups = _meter.CreateCounter<long>("localllm.kv_cache.lookups", "{lookup}", "Requests that looked for a cached prefix (a cached generator, or a batching-engine slot); tag localllm.kv_cache.hit says whether one was reused.");
        KvCacheReusedTokens = _meter.CreateCounter<long>("localllm.kv_cache.reused_tokens", "{token}", "Prompt tokens served from a cached KV state instead of prefill.");
        KvCacheBytes = _meter.CreateUpDownCounter<long>("localllm.kv_cache.bytes", "By", "Bytes held by idle cached generators: their KV caches plus the measured per-generator overhead (docs/kv-cache.md).");
        KvCacheActiveBytes = _meter.CreateUpDownCounter<long>("localllm.kv_cache.active_bytes", "By", "Bytes reserved by requests generating now (KV cache plus per-generator overhead).");
        KvCacheGenerators = _meter.CreateUpDownCounter<long>("localllm.kv_cache.generators", "{generator}", "Idle cached generators.");
        KvCacheEvictions = _meter.CreateCounter<long>("localllm.kv_cache.evictions", "{generator}", "Cached generators evicted to stay within the KV-cache budget.");
        QueueDepth = _meter.CreateUpDownCounter<long>("localllm.scheduler.queue_depth", "{request}", "Requests waiting for admission.");
        QueueTime = _meter.CreateHistogram<double>("localllm.scheduler.queue_time", "s", "Time a request waited for admission.");
        SchedulerRejected = _meter.CreateCounter<long>("localllm.scheduler.rejected", "{request}", "Requests refused because the queue was full.");
        BatchedRequests = _meter.CreateCounter<long>("localllm.batching.requests", "{request}", "Requests served by the batching engine.");
        BatchingFallbacks = _meter.CreateCounter<long>("localllm.batching.fallbacks", "{request}", "Requests the batching engine could not serve exactly, run on their own generator; tag localllm.batching.reason says why.");
    }

    internal Histogram<double> TimeToFirstToken { get; }
    internal Histogram<double> TimePerOutputToken { get; }
    internal Histogram<double> PrefillRate { get; }
    internal Histogram<double> DecodeRate { get; }
    internal Counter<long> OutputTokens { get; }
    internal Counter<long> PromptTokens { get; }
    internal UpDownCounter<long> ActiveRequests { get; }
    internal Counter<long> KvCacheLookups { get; }
    internal Counter<long> KvCacheReusedTokens { get; }
    internal UpDownCounter<long> KvCacheBytes { get; }
    internal UpDownCounter<long> KvCacheActiveBytes { get; }
    internal UpDownCounter<long> KvCacheGenerators { get; }
    internal Counter<long> KvCacheEvictions { get; }
    internal UpDownCounter<long> QueueDepth { get; }
    internal Histogram<double> QueueTime { get; }
    internal Counter<long> SchedulerRejected { get; }
    internal Counter<long> BatchedRequests { get; }
    internal Counter<long> BatchingFallbacks { get; }

    /// <summary>The instruments as one client records them, tagged with its model (and service key).</summary>
    internal ModelTelemetry For(string modelId, string? key) => new(this, modelId, key);

    /// <summary>Disposes the meter if this object created it.</summary>
    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
