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
}
