namespace LocalLlm;

/// <summary>How to open a model folder.</summary>
public sealed class LocalModelOptions
{
    /// <summary>Where the model runs.</summary>
    /// <value>Default: <see cref="ExecutionProvider.Auto"/>.</value>
    public ExecutionProvider ExecutionProvider { get; set; } = ExecutionProvider.Auto;

    /// <summary>The CUDA device to use.</summary>
    /// <value>Default: 0.</value>
    public int DeviceId { get; set; }

    /// <summary>Extra provider options passed to ONNX Runtime (for CUDA, e.g. <c>enable_cuda_graph</c>).</summary>
    public IDictionary<string, string> ProviderOptions { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// On Linux with glibc, fix malloc's mmap threshold at 128 KiB when the first model loads, so the KV buffers of
    /// finished requests go back to the system instead of fragmenting the heap (without it, resident memory grew
    /// 19.7 % over 2,000 distinct requests on a Qwen2.5-0.5B shape; docs/kv-cache.md). Process-wide and decided by
    /// the first model loaded; an operator's own <c>MALLOC_MMAP_THRESHOLD_</c> always wins.
    /// </summary>
    /// <value>Default: true.</value>
    public bool TuneNativeHeap { get; set; } = true;
}
