namespace LocalLlm;

/// <summary>A change to the request that makes a loop less likely on the retry.</summary>
public enum DegenerationRemedy
{
    /// <summary>Raise the temperature by <see cref="DegenerationGuardOptions.TemperatureIncrease"/> (greedy becomes sampling). Skipped for beam search.</summary>
    RaiseTemperature,

    /// <summary>Set repetition_penalty to at least <see cref="DegenerationGuardOptions.RetryRepetitionPenalty"/>.</summary>
    RepetitionPenalty,

    /// <summary>Set no_repeat_ngram_size to <see cref="DegenerationGuardOptions.RetryNoRepeatNgramSize"/> (see docs/decoding.md for how far ORT GenAI 0.18 enforces it).</summary>
    NoRepeatNgram,
}

/// <summary>How a stream behaves when a loop is found.</summary>
public enum DegenerationStreamingMode
{
    /// <summary>Hold back the last <see cref="DegenerationGuardOptions.HoldBackTokens"/> tokens. A loop found before anything
    /// was shown is retried invisibly; after that the stream ends, the held-back loop is dropped, and the last update
    /// carries <see cref="DegenerationGuardChatClient.DegenerateFinishReason"/> and a <see cref="DegenerationReport"/>.</summary>
    HoldBack,

    /// <summary>Show every token at once. On a loop the stream ends with <see cref="DegenerationGuardChatClient.DegenerateFinishReason"/>
    /// and a <see cref="DegenerationReport"/> saying where in the shown text the loop starts; no retry.</summary>
    PassThrough,
}

/// <summary>Thresholds and remedies of <see cref="DegenerationGuardChatClient"/>. docs/decoding.md explains the defaults.</summary>
public sealed class DegenerationGuardOptions
{
    /// <summary>No check before this many output tokens.</summary>
    /// <value>Default 16.</value>
    public int MinTokens { get; set; } = 16;

    /// <summary>Longest repeated unit (in tokens) the suffix check looks for.</summary>
    /// <value>Default 32.</value>
    public int MaxPeriod { get; set; } = 32;

    /// <summary>Back-to-back repeats of a unit that make a loop.</summary>
    /// <value>Default 3.</value>
    public int MinRepeats { get; set; } = 3;

    /// <summary>A repeated suffix must also cover this many tokens (so "!!!" or a short ruler is not a loop). A loop of any period up
    /// to <see cref="MaxPeriod"/> is found within max(MinLoopTokens, MinRepeats · period) tokens of its start.</summary>
    /// <value>Default 32.</value>
    public int MinLoopTokens { get; set; } = 32;

    /// <summary>Recent tokens the ratio checks look at.</summary>
    /// <value>Default 64.</value>
    public int Window { get; set; } = 64;

    /// <summary>Size of the n-grams counted by the repeated-n-gram check (1..8).</summary>
    /// <value>Default 4.</value>
    public int NgramSize { get; set; } = 4;

    /// <summary>Fraction of the window's n-grams that may already have occurred in it; null turns the check off.</summary>
    /// <value>Default 0.6.</value>
    public double? MaxRepeatedNgramRatio { get; set; } = 0.6;

    /// <summary>Smallest healthy fraction of distinct tokens in the window; 0 turns the check off.</summary>
    /// <value>Default 0.1.</value>
    public double MinDistinctRatio { get; set; } = 0.1;

    /// <summary>Mean surprisal (−log p, nats) below which a half-repetitive window counts as collapsed; needs log-probabilities
    /// (non-streaming requests with <see cref="LocalLlmChatOptionsExtensions.WithLogProbabilities"/>); null turns it off.</summary>
    /// <value>Default null.</value>
    public double? MaxMeanSurprisal { get; set; }

    /// <summary>Remedies, applied cumulatively: retry k adds the k-th.</summary>
    /// <value>Default RaiseTemperature, RepetitionPenalty, NoRepeatNgram.</value>
    public IList<DegenerationRemedy> Remedies { get; } = [DegenerationRemedy.RaiseTemperature, DegenerationRemedy.RepetitionPenalty, DegenerationRemedy.NoRepeatNgram];

    /// <summary>Retries after the first attempt (at most one per remedy are useful).</summary>
    /// <value>Default 3.</value>
    public int MaxRetries { get; set; } = 3;

    /// <summary>Added to the temperature (0 when unset or greedy) by <see cref="DegenerationRemedy.RaiseTemperature"/>.</summary>
    /// <value>Default 0.4.</value>
    public float TemperatureIncrease { get; set; } = 0.4f;

    /// <summary>repetition_penalty set by <see cref="DegenerationRemedy.RepetitionPenalty"/>.</summary>
    /// <value>Default 1.3.</value>
    public double RetryRepetitionPenalty { get; set; } = 1.3;

    /// <summary>no_repeat_ngram_size set by <see cref="DegenerationRemedy.NoRepeatNgram"/>.</summary>
    /// <value>Default 4.</value>
    public int RetryNoRepeatNgramSize { get; set; } = 4;

    /// <summary>How streams behave on a loop.</summary>
    /// <value>Default <see cref="DegenerationStreamingMode.HoldBack"/>.</value>
    public DegenerationStreamingMode StreamingMode { get; set; } = DegenerationStreamingMode.HoldBack;

    /// <summary>Tokens held back in <see cref="DegenerationStreamingMode.HoldBack"/> mode; at least <see cref="MinLoopTokens"/> keeps a
    /// loop's repeats off the screen.</summary>
    /// <value>Default 32.</value>
    public int HoldBackTokens { get; set; } = 32;

    /// <summary>Turns output text into token ids for the checks; null uses the inner client's <see cref="LocalModel"/> tokenizer,
    /// or UTF-16 code units when there is none.</summary>
    /// <value>Default null.</value>
    public Func<string, IReadOnlyList<int>>? Tokenize { get; set; }

    /// <summary>Checks every value; the message names the option and its range.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        static void Check(bool ok, string message)
        {
            if (!ok) throw new ArgumentException("DegenerationGuardOptions." + message);
        }
        Check(MinTokens >= 1, $"MinTokens must be at least 1 (was {MinTokens}).");
        Check(MaxPeriod >= 1, $"MaxPeriod must be at least 1 (was {MaxPeriod}).");
        Check(MinRepeats >= 2, $"MinRepeats must be at least 2 (was {MinRepeats}).");
        Check(MinLoopTokens >= 2, $"MinLoopTokens must be at least 2 (was {MinLoopTokens}).");
        Check(Window >= 2, $"Window must be at least 2 (was {Window}).");
        Check(NgramSize is >= 1 and <= 8, $"NgramSize must be 1..8 (was {NgramSize}).");
        Check(MaxRepeatedNgramRatio is null or (>= 0 and <= 1), $"MaxRepeatedNgramRatio must be in [0, 1] or null (was {MaxRepeatedNgramRatio}).");
        Check(MinDistinctRatio is >= 0 and <= 1, $"MinDistinctRatio must be in [0, 1] (was {MinDistinctRatio}).");
        Check(MaxMeanSurprisal is null or >= 0, $"MaxMeanSurprisal must be ≥ 0 or null (was {MaxMeanSurprisal}).");
        Check(MaxRetries >= 0, $"MaxRetries must be ≥ 0 (was {MaxRetries}).");
        Check(MaxRetries == 0 || Remedies.Count > 0, "Remedies is empty but MaxRetries > 0; add a remedy or set MaxRetries = 0.");
        Check(float.IsFinite(TemperatureIncrease) && TemperatureIncrease > 0, $"TemperatureIncrease must be positive (was {TemperatureIncrease}).");
        Check(double.IsFinite(RetryRepetitionPenalty) && RetryRepetitionPenalty > 1, $"RetryRepetitionPenalty must be above 1 (was {RetryRepetitionPenalty}).");
        Check(RetryNoRepeatNgramSize >= 1, $"RetryNoRepeatNgramSize must be at least 1 (was {RetryNoRepeatNgramSize}).");
        Check(Enum.IsDefined(StreamingMode), $"StreamingMode {StreamingMode} is not defined.");
        Check(HoldBackTokens >= 0, $"HoldBackTokens must be ≥ 0 (was {HoldBackTokens}).");
        foreach (var r in Remedies) Check(Enum.IsDefined(r), $"Remedies contains undefined value {r}.");
    }
}
