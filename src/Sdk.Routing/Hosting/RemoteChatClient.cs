using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using OpenAI;

namespace LocalLlm.Routing.Hosting;

/// <summary>
/// A chat client for an OpenAI-compatible endpoint (vLLM, Ollama, Azure AI Foundry, another LocalLlm web host),
/// through Microsoft.Extensions.AI.OpenAI, with bounded timeouts and retries suited to a routing tier.
/// </summary>
public static class RemoteChatClient
{
    /// <summary>Creates the client.</summary>
    /// <param name="endpoint">The API base address, such as <c>http://gpu-box:8000/v1</c>.</param>
    /// <param name="model">The model name the server expects.</param>
    /// <param name="apiKey">The API key; servers that need none accept any value.</param>
    /// <param name="networkTimeout">How long one HTTP call may take; the default is 100 seconds.</param>
    /// <param name="maxRetries">Retries on transient HTTP failures; the default 0 leaves recovery to the router's failover.</param>
    /// <returns>The chat client.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoint"/> or <paramref name="model"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="endpoint"/> is not absolute, or <paramref name="model"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="networkTimeout"/> is not positive or <paramref name="maxRetries"/> is negative.</exception>
    public static IChatClient Create(Uri endpoint, string model, string? apiKey = null, TimeSpan? networkTimeout = null, int maxRetries = 0)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        if (!endpoint.IsAbsoluteUri)
            throw new ArgumentException($"The endpoint '{endpoint}' must be an absolute URI such as http://localhost:8000/v1.", nameof(endpoint));
        if (networkTimeout is { } t)
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(t, TimeSpan.Zero, nameof(networkTimeout));
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetries);
        var options = new OpenAIClientOptions
        {
            Endpoint = endpoint,
            NetworkTimeout = networkTimeout ?? TimeSpan.FromSeconds(100),
            RetryPolicy = new ClientRetryPolicy(maxRetries),
        };
        return new OpenAI.Chat.ChatClient(model, new ApiKeyCredential(string.IsNullOrEmpty(apiKey) ? "unused" : apiKey), options).AsIChatClient();
    }
}
