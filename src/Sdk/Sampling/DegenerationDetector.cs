namespace LocalLlm;

/// <summary>What showed that the output is looping.</summary>
public enum DegenerationSignal
{
    /// <summary>The output ends with the same run of tokens repeated back to back.</summary>
    RepeatedSuffix,

    /// <summary>Most n-grams in the recent window already occurred earlier in it.</summary>
    RepeatedNgrams,

    /// <summary>Few distinct tokens in the recent window.</summary>
    LowDistinctRatio,

    /// <summary>The model is near-certain of every recent token (mean surprisal below the threshold) while the window repeats.</summary>
    LowSurprisal,
}

/// <summary>A detected loop.</summary>
/// <param name="Signal">What fired.</param>
/// <param name="Tokens">Output tokens seen when it fired.</param>
/// <param name="LoopStartToken">Index of the first token of the repeated region (for a suffix), else of the window.</param>
/// <param name="Period">Length of the repeated unit, for <see cref="DegenerationSignal.RepeatedSuffix"/>.</param>
/// <param name="Detail">Numbers behind the decision, for logs.</param>
public sealed record DegenerationFinding(DegenerationSignal Signal, int Tokens, int LoopStartToken, int? Period, string Detail);

/// <summary>
/// Looks at an output token sequence (as it grows) for the signs of a collapsed distribution. Pure and cheap:
/// each check is O(window · max period).
/// </summary>
public sealed class DegenerationDetector
{
    private readonly DegenerationGuardOptions _options;

    /// <summary>Creates a detector with these thresholds.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public DegenerationDetector(DegenerationGuardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    /// <summary>The first signal that fires on <paramref name="tokens"/>, or null.</summary>
    /// <param name="tokens">The output so far.</param>
    /// <param name="logProbabilities">Per-token log-probabilities aligned with the end of <paramref name="tokens"/>, when known.</param>
    /// <exception cref="ArgumentNullException"><paramref name="tokens"/> is null.</exception>
    public DegenerationFinding? Check(IReadOnlyList<int> tokens, IReadOnlyList<double>? logProbabilities = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var o = _options;
        int n = tokens.Count;
        if (n < o.MinTokens) return null;

        // A suffix repeated back to back: the classic loop ("ant\nant\nant\n").
        for (int period = 1; period <= Math.Min(o.MaxPeriod, n / 2); period++)
        {
            int needed = Math.Max(o.MinRepeats, (o.MinLoopTokens + period - 1) / period) * period;
            if (needed > n) continue;
            int run = period;
            while (run < n && tokens[n - 1 - run] == tokens[n - 1 - run + period]) run++;
            if (run >= needed)
                return new(DegenerationSignal.RepeatedSuffix, n, n - run, period, $"period {period}, {run / period} repeats");
        }

        int window = Math.Min(o.Window, n);
        if (window < o.Window) return null; // the ratio signals need a full window
        int start = n - window;

        if (o.MaxRepeatedNgramRatio is { } maxRatio && window > o.NgramSize)
        {
            var seen = new HashSet<(int, int, int, int, int, int, int, int)>();
            int grams = window - o.NgramSize + 1, repeated = 0;
            for (int i = start; i + o.NgramSize <= n; i++)
            {
                if (!seen.Add(Key(tokens, i, o.NgramSize))) repeated++;
            }
            double ratio = (double)repeated / grams;
            if (ratio > maxRatio)
                return new(DegenerationSignal.RepeatedNgrams, n, start, null, $"{ratio:P0} of {o.NgramSize}-grams repeated in the last {window} tokens");
        }

        var distinct = new HashSet<int>();
        for (int i = start; i < n; i++) distinct.Add(tokens[i]);
        double distinctRatio = (double)distinct.Count / window;
        if (distinctRatio < o.MinDistinctRatio)
            return new(DegenerationSignal.LowDistinctRatio, n, start, null, $"{distinct.Count} distinct of {window}");

        // Near-certainty alone is not a loop (a confident model is fine); with a half-repeated window it is collapse.
        if (o.MaxMeanSurprisal is { } maxSurprisal && logProbabilities is { Count: > 0 } lp && distinctRatio < 2 * o.MinDistinctRatio)
        {
            int count = Math.Min(window, lp.Count);
            double surprisal = 0;
            for (int i = lp.Count - count; i < lp.Count; i++) surprisal -= lp[i];
            surprisal /= count;
            if (surprisal < maxSurprisal)
                return new(DegenerationSignal.LowSurprisal, n, start, null, $"mean surprisal {surprisal:F3} nats over {count} tokens");
        }
        return null;
    }

    private static (int, int, int, int, int, int, int, int) Key(IReadOnlyList<int> t, int i, int size) => (
        t[i], size > 1 ? t[i + 1] : -1, size > 2 ? t[i + 2] : -1, size > 3 ? t[i + 3] : -1,
        size > 4 ? t[i + 4] : -1, size > 5 ? t[i + 5] : -1, size > 6 ? t[i + 6] : -1, size > 7 ? t[i + 7] : -1);
}
