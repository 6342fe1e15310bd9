using System.Runtime.CompilerServices;

namespace LocalLlm.Routing.Tests.Fakes;

/// <summary>A hand-written tier: answers with callbacks, counts calls and remembers what it was sent.</summary>
internal sealed class FakeChatClient(string name) : IChatClient
{
    private int _calls;

    public string Name { get; } = name;

    public int Calls => _calls;

    public ChatOptions? LastOptions { get; private set; }

    public SynchronizationContext? SeenContext { get; private set; }

    /// <summary>Answers non-streaming calls; default: "{name} answer" with 10 input and 5 output tokens.</summary>
    public Func<IReadOnlyList<ChatMessage>, ChatOptions?, CancellationToken, Task<ChatResponse>>? OnGetResponse { get; set; }

    /// <summary>Answers streaming calls; default: the non-streaming answer in two text updates and a usage update.</summary>
    public Func<IReadOnlyList<ChatMessage>, ChatOptions?, CancellationToken, IAsyncEnumerable<ChatResponseUpdate>>? OnStream { get; set; }

    public static ChatResponse Answer(string text, long input = 10, long output = 5) =>
        new(new ChatMessage(ChatRole.Assistant, text))
        {
            Usage = new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output },
            FinishReason = ChatFinishReason.Stop,
        };

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        LastOptions = options;
        SeenContext = SynchronizationContext.Current;
        return OnGetResponse?.Invoke([.. messages], options, cancellationToken) ?? Task.FromResult(Answer($"{Name} answer"));
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        LastOptions = options;
        SeenContext = SynchronizationContext.Current;
        return OnStream?.Invoke([.. messages], options, cancellationToken) ?? DefaultStream(cancellationToken);
    }

    private async IAsyncEnumerable<ChatResponseUpdate> DefaultStream([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        yield return new ChatResponseUpdate(ChatRole.Assistant, $"{Name} ") { MessageId = "m1" };
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        yield return new ChatResponseUpdate(ChatRole.Assistant, "answer") { MessageId = "m1" };
        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            MessageId = "m1",
            Contents = [new UsageContent(new UsageDetails { InputTokenCount = 10, OutputTokenCount = 5, TotalTokenCount = 15 })],
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
