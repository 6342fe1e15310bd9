using System.Runtime.CompilerServices;

namespace LocalLlm.Guardrails.Tests;

/// <summary>A chat client whose behaviour the test sets through callbacks.</summary>
internal sealed class FakeChatClient : IChatClient
{
    public Func<IEnumerable<ChatMessage>, ChatOptions?, CancellationToken, Task<ChatResponse>> GetResponseAsyncCallback { get; set; } =
        (_, _, _) => Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "ok")));

    public Func<IEnumerable<ChatMessage>, ChatOptions?, CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> GetStreamingResponseAsyncCallback { get; set; } =
        (_, _, ct) => Chunks(ct, "ok");

    public int Calls { get; private set; }

    public IReadOnlyList<ChatMessage>? LastMessages { get; private set; }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Calls++;
        LastMessages = [.. messages];
        return GetResponseAsyncCallback(messages, options, cancellationToken);
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Calls++;
        LastMessages = [.. messages];
        return GetStreamingResponseAsyncCallback(messages, options, cancellationToken);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    public static ChatResponse Reply(string text) => new(new ChatMessage(ChatRole.Assistant, text)) { FinishReason = ChatFinishReason.Stop };

    /// <summary>Streams the chunks as they are, ending with a Stop finish reason.</summary>
    public static async IAsyncEnumerable<ChatResponseUpdate> Chunks([EnumeratorCancellation] CancellationToken cancellationToken, params string[] chunks)
    {
        for (int i = 0; i < chunks.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, chunks[i])
            {
                ResponseId = "r1",
                FinishReason = i == chunks.Length - 1 ? ChatFinishReason.Stop : null,
            };
        }
    }
}
