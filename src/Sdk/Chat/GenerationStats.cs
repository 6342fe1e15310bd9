namespace LocalLlm;

/// <summary>How one request went: token counts and timings, measured inside the generation loop.</summary>
public sealed record GenerationStats
{
    /// <summary>Tokens in the prompt.</summary>
    public int PromptTokens { get; init; }

    /// <summary>Prompt tokens served from a cached KV state instead of being prefilled again.</summary>
    public int ReusedPromptTokens { get; init; }

    /// <summary>Tokens generated.</summary>
    public int OutputTokens { get; init; }

    /// <summary>Time from the request's start (after queueing) to the first output token.</summary>
    public TimeSpan TimeToFirstToken { get; init; }

    /// <summary>Time spent waiting for admission by the scheduler.</summary>
    public TimeSpan QueueTime { get; init; }

    /// <summary>Time from the first output token to the last.</summary>
    public TimeSpan DecodeTime { get; init; }

    /// <summary>Prompt tokens processed per second (prefill).</summary>
    public double PrefillTokensPerSecond { get; init; }

    /// <summary>Output tokens per second after the first.</summary>
    public double DecodeTokensPerSecond { get; init; }
}
