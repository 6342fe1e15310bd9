namespace LocalLlm.Samples.WebChat.OpenAI;

/// <summary>
/// Bounded admission in the web layer: requests generating plus requests waiting may not exceed the limit; the next
/// one is refused at once (429) instead of queueing without end. The chat client itself queues the admitted ones.
/// </summary>
internal sealed class RequestAdmission(int limit)
{
    private int _inside;

    public int Limit { get; } = limit;

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _inside) <= Limit) return true;
        Interlocked.Decrement(ref _inside);
        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _inside);
}
