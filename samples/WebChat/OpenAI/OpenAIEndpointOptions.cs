using System.ComponentModel.DataAnnotations;

namespace LocalLlm.Samples.WebChat.OpenAI;

/// <summary>Limits of the OpenAI-compatible endpoints (configuration section <c>WebChat</c>).</summary>
public sealed class OpenAIEndpointOptions
{
    /// <summary>Largest request body; a larger one gets 413.</summary>
    /// <value>Default: 1 MiB.</value>
    [Range(1024, long.MaxValue)]
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Most messages in one request; more get 400.</summary>
    /// <value>Default: 256.</value>
    [Range(1, 100_000)]
    public int MaxMessages { get; set; } = 256;

    /// <summary>The model id that /v1/models lists and responses carry; null = the chat client's own.</summary>
    /// <value>Default: null.</value>
    public string? ModelId { get; set; }
}
