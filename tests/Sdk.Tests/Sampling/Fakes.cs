using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace LocalLlm.Tests.Sampling;

/// <summary>A hand-written inner client: records the options it saw and answers with the callback's text.</summary>
internal sealed class FakeChatClient : IChatClient
{
    public List<ChatOptions?> Seen { get; } = [];

    public List<SynchronizationContext?> Contexts { get; } = [];

    /// <summary>Text of the nth call (0-based); streamed one character per update.</summary>
    public Func<int, string> Reply { get; set; } = _ => "fine";

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Record(options);
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, Reply(Seen.Count - 1))) { FinishReason = ChatFinishReason.Stop };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Record(options);
        string text = Reply(Seen.Count - 1);
        foreach (char c in text)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return new ChatResponseUpdate(ChatRole.Assistant, c.ToString()) { ResponseId = "r", MessageId = "m" };
        }
        yield return new ChatResponseUpdate { Role = ChatRole.Assistant, ResponseId = "r", MessageId = "m", FinishReason = ChatFinishReason.Stop };
    }

    private void Record(ChatOptions? options)
    {
        Seen.Add(options);
        Contexts.Add(SynchronizationContext.Current);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

/// <summary>A single-threaded SynchronizationContext that pumps continuations until the task ends (like a UI thread).</summary>
internal sealed class PumpContext : SynchronizationContext
{
    private readonly BlockingCollection<(SendOrPostCallback, object?)> _queue = [];

    public override void Post(SendOrPostCallback d, object? state) => _queue.Add((d, state));

    public static void Run(Func<Task> body)
    {
        var previous = Current;
        var context = new PumpContext();
        SetSynchronizationContext(context);
        try
        {
            Task task = body();
            task.ContinueWith(_ => context._queue.CompleteAdding(), TaskScheduler.Default);
            foreach (var (d, state) in context._queue.GetConsumingEnumerable()) d(state);
            task.GetAwaiter().GetResult();
        }
        finally
        {
            SetSynchronizationContext(previous);
        }
    }
}
