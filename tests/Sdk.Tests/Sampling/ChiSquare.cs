namespace LocalLlm.Tests.Sampling;

/// <summary>Pearson's chi-square goodness of fit, bins with expected count below 5 pooled.</summary>
internal static class ChiSquare
{
    /// <summary>Asserts the counts fit the probabilities at significance 0.001 (fixed seeds: the outcome is reproducible).</summary>
    public static void AssertFits(IReadOnlyDictionary<string, int> counts, IReadOnlyDictionary<string, double> probabilities)
    {
        int n = counts.Values.Sum();
        double stat = 0, pooledExpected = 0;
        int pooledObserved = 0, bins = 0;
        foreach (var key in probabilities.Keys.Union(counts.Keys))
        {
            double expected = probabilities.GetValueOrDefault(key) * n;
            int observed = counts.GetValueOrDefault(key);
            if (expected < 5)
            {
                pooledExpected += expected;
                pooledObserved += observed;
                continue;
            }
            stat += (observed - expected) * (observed - expected) / expected;
            bins++;
        }
        if (pooledExpected > 0)
        {
            // An observation where the analytic probability is zero is an outright failure.
            Assert.True(pooledExpected > 1e-9 || pooledObserved == 0, $"{pooledObserved} samples fell where the analytic probability is 0.");
            stat += (pooledObserved - pooledExpected) * (pooledObserved - pooledExpected) / Math.Max(pooledExpected, 1e-9);
            bins++;
        }
        int df = Math.Max(1, bins - 1);
        double critical = Critical(df);
        string table = string.Join(", ", probabilities.Where(p => p.Value * n >= 1 || counts.ContainsKey(p.Key))
            .Select(p => $"{p.Key}: {counts.GetValueOrDefault(p.Key)} vs {p.Value * n:F1}"));
        Assert.True(stat < critical, $"chi-square {stat:F1} ≥ {critical:F1} (df {df}); observed vs expected: {table}");
    }

    /// <summary>Wilson–Hilferty approximation of the 0.999 quantile of chi-square(df).</summary>
    private static double Critical(int df)
    {
        const double z = 3.0902;
        double a = 2.0 / (9 * df);
        return df * Math.Pow(1 - a + (z * Math.Sqrt(a)), 3);
    }
}

/// <summary>
/// The distribution ORT GenAI samples from, derived by hand: repetition penalty on tokens already in the sequence,
/// then top-k by logit, softmax at the temperature, then the top-p nucleus (the token that crosses p is kept),
/// renormalised — the order of ORT GenAI's CPU sampler.
/// </summary>
internal static class AnalyticSampling
{
    public static Dictionary<string, double> Distribution(IReadOnlyList<float> logits, double temperature, int? topK, double? topP,
        double repetitionPenalty = 1, IReadOnlySet<int>? seen = null)
    {
        var scored = new List<(int Token, double Logit)>();
        for (int t = 0; t < logits.Count; t++)
        {
            double l = logits[t];
            if (repetitionPenalty != 1 && seen?.Contains(t) == true) l = l < 0 ? l * repetitionPenalty : l / repetitionPenalty;
            scored.Add((t, l));
        }
        scored.Sort((a, b) => b.Logit.CompareTo(a.Logit));
        if (topK is { } k) scored = scored.Take(k).ToList();
        double max = scored[0].Logit;
        double[] p = scored.Select(s => Math.Exp((s.Logit - max) / temperature)).ToArray();
        double sum = p.Sum();
        for (int i = 0; i < p.Length; i++) p[i] /= sum;
        int keep = p.Length;
        if (topP is { } nucleus)
        {
            double cumulative = 0;
            for (int i = 0; i < p.Length; i++)
            {
                cumulative += p[i];
                if (cumulative >= nucleus) { keep = i + 1; break; }
            }
        }
        double kept = p.Take(keep).Sum();
        var result = new Dictionary<string, double>();
        for (int i = 0; i < keep; i++)
        {
            string bin = Bin(scored[i].Token);
            result[bin] = result.GetValueOrDefault(bin) + (p[i] / kept);
        }
        return result;
    }

    /// <summary>'a'..'p' get their own bin; every other token is "other" (they tie at one logit).</summary>
    public static string Bin(int token) => token is >= 'a' and <= 'p' ? ((char)token).ToString() : "other";
}
