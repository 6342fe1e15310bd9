using LocalLlm.Routing.Classifier;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace LocalLlm.RouterTrainer;

/// <summary>Featurizer variants for the experiments (cross-validation on the training half only).</summary>
internal sealed record FeatureConfig(string Name, bool Bigrams = true, bool Trigrams = false, bool OptionsApart = false,
    int CharN = 0, float CharScale = 1, bool Binned = false, float BinScale = 1, bool Dense = true,
    bool OptionsBoth = false, bool SeparateNorm = false, float OptionScale = 1);

/// <summary>
/// Cross-validated comparisons of featurizers and learners for the n-gram router (never touches the held-out half).
/// </summary>
internal static class Experiments
{
    private const int HashBits = 16;

    public static void Run(List<(List<MmluRow> Fit, List<MmluRow> Validation)> folds, string which)
    {
        if (which == "parity")
        {
            // The runtime featurizer (v2) against the experiment's chosen configuration, on every training prompt.
            var chosen = new FeatureConfig("chosen", OptionsApart: true, SeparateNorm: true, Binned: true, BinScale: PromptFeaturizer.BucketScale, CharN: 4, CharScale: PromptFeaturizer.CharScale);
            int differ = 0;
            foreach (var r in folds.SelectMany(f => f.Validation))
            {
                var a = Featurize(r.Prompt, chosen);
                var b = PromptFeaturizer.Featurize(r.Prompt, HashBits);
                if (!a.Indices.SequenceEqual(b.Indices) || !a.Values.SequenceEqual(b.Values)) differ++;
            }
            Console.WriteLine($"parity: {differ} of {folds.Sum(f => f.Validation.Count)} training prompts featurize differently");
            return;
        }
        var opt = new FeatureConfig("options apart", OptionsApart: true);
        var configs = new List<(FeatureConfig Config, string Learner, double[] L2s)>
        {
            (opt with { Name = "opt sepnorm+bin0.5+char4x0.7", SeparateNorm = true, Binned = true, BinScale = 0.5f, CharN = 4, CharScale = 0.7f }, "two", [3]),
            (opt with { Name = "opt sepnorm+bin0.35+char4x0.5", SeparateNorm = true, Binned = true, BinScale = 0.35f, CharN = 4, CharScale = 0.5f }, "two", [3]),
            (opt with { Name = "opt sepnorm0.7+bin0.5+char4x0.5", SeparateNorm = true, OptionScale = 0.7f, Binned = true, BinScale = 0.5f, CharN = 4, CharScale = 0.5f }, "two", [3]),
        };
        foreach (var (config, learner, l2s) in configs)
        {
            string name = config.Name + " / " + learner;
            if (which != "all" && !name.Contains(which, StringComparison.Ordinal)) continue;
            foreach (double l2 in l2s)
            {
                var perFold = folds.Select(f =>
                {
                    var s = Learner(learner, f.Fit, config, l2);
                    return RouterMetrics.Compute(f.Validation, [.. f.Validation.Select(r => s(r.Prompt))]).Apgr;
                }).ToList();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-36} L2 {l2,-4} CV APGR {perFold.Average():F4}  folds {string.Join(" ", perFold.Select(a => a.ToString("F3", CultureInfo.InvariantCulture)))}"));
            }
        }
    }

    public static Func<string, double> Learner(string learner, List<MmluRow> rows, FeatureConfig config, double l2)
    {
        switch (learner)
        {
            case "two":
                return TwoHeads(rows, config, l2);
            case "bag4":
            {
                var models = Enumerable.Range(0, 4).Select(b =>
                {
                    var rng = new Random(100 + b);
                    var sample = rows.Where(_ => rng.NextDouble() < 0.8).ToList();
                    return TwoHeads(sample, config, l2);
                }).ToList();
                return p => models.Average(m => m(p));
            }
            case "decomp":
                return Decomposition(rows, config, l2);
            case "two+decomp":
            {
                var a = TwoHeads(rows, config, l2);
                var d = Decomposition(rows, config, l2);
                return p => a(p) + d(p);
            }
            default:
                throw new ArgumentException(learner);
        }
    }

    /// <summary>P(the models differ) × (2 P(strong is the right one | they differ) − 1): the expected gain, factored.</summary>
    private static Func<string, double> Decomposition(List<MmluRow> rows, FeatureConfig config, double l2)
    {
        var differ = Fit(rows.Select(r => (r.Prompt, r.StrongCorrect != r.WeakCorrect, 1f)), config, l2);
        var strongWins = Fit(rows.Where(r => r.StrongCorrect != r.WeakCorrect).Select(r => (r.Prompt, r.StrongCorrect, 1f)), config, l2);
        return p => differ(p) * ((2 * strongWins(p)) - 1);
    }

    public static Func<string, double> TwoHeads(List<MmluRow> rows, FeatureConfig config, double l2)
    {
        var strong = Fit(rows.Select(r => (r.Prompt, r.StrongCorrect, 1f)), config, l2);
        var weak = Fit(rows.Select(r => (r.Prompt, r.WeakCorrect, 1f)), config, l2);
        return p => strong(p) - weak(p);
    }

    private static readonly Dictionary<(string, FeatureConfig), (int[], float[])> s_cache = [];

    public static (int[] Indices, float[] Values) Features(string prompt, FeatureConfig config)
    {
        lock (s_cache)
        {
            if (s_cache.TryGetValue((prompt, config), out var hit)) return hit;
        }
        var v = Featurize(prompt, config);
        lock (s_cache) s_cache[(prompt, config)] = v;
        return v;
    }

    public static Func<string, double> Fit(IEnumerable<(string Prompt, bool Label, float Weight)> rows, FeatureConfig config, double l2)
    {
        var (w, b) = LogisticFit.Fit(rows.Select(r => (Features(r.Prompt, config), r.Label, r.Weight)), (1 << HashBits) + PromptFeaturizer.DenseCount, l2);
        return p =>
        {
            var (indices, values) = Features(p, config);
            float z = b;
            for (int i = 0; i < indices.Length; i++) z += w[indices[i]] * values[i];
            return 1 / (1 + Math.Exp(-z));
        };
    }

    /// <summary>The shipped featurizer's word block with switches, plus optional extra blocks sharing the hash space.</summary>
    public static (int[] Indices, float[] Values) Featurize(string prompt, FeatureConfig c)
    {
        int mask = (1 << HashBits) - 1;
        int optionsAt = prompt.IndexOf("\nA.", StringComparison.Ordinal);
        var words = new HashSet<int>();
        var optionWords = c.SeparateNorm ? new HashSet<int>() : words;
        ulong p1 = 0, p2 = 0;
        int count = 0;
        int i = 0;
        while (i < prompt.Length)
        {
            if (char.IsLetterOrDigit(prompt[i]))
            {
                bool inOptions = optionsAt >= 0 && i > optionsAt;
                bool apart = c.OptionsApart && inOptions;
                ulong h = apart ? 0x51ED270B27A1F3C5UL : 14695981039346656037UL;
                ulong plain = 14695981039346656037UL;
                while (i < prompt.Length && char.IsLetterOrDigit(prompt[i]))
                {
                    h = (h ^ char.ToLowerInvariant(prompt[i])) * 1099511628211UL;
                    plain = (plain ^ char.ToLowerInvariant(prompt[i])) * 1099511628211UL;
                    i++;
                }
                var target = inOptions ? optionWords : words;
                target.Add((int)(Mix(h) & (uint)mask));
                if (c.Bigrams && count >= 1) target.Add((int)(Mix((p1 * 31) ^ h ^ 0x9E3779B97F4A7C15UL) & (uint)mask));
                if (c.Trigrams && count >= 2) target.Add((int)(Mix((((p2 * 31) ^ p1) * 31) ^ h ^ 0x7F4A7C159E3779B9UL) & (uint)mask));
                if (apart && c.OptionsBoth) target.Add((int)(Mix(plain) & (uint)mask));
                p2 = p1;
                p1 = h;
                count++;
                continue;
            }
            i++;
        }
        var blocks = new List<(HashSet<int> Set, float Scale)> { (words, 1f) };
        if (c.SeparateNorm) blocks.Add((optionWords, c.OptionScale));
        if (c.CharN > 0)
        {
            var chars = new HashSet<int>();
            string t = prompt.ToLowerInvariant();
            for (int k = 0; k + c.CharN <= t.Length; k++)
            {
                ulong h = 0xC2B2AE3D27D4EB4FUL;
                for (int j = 0; j < c.CharN; j++) h = (h ^ t[k + j]) * 1099511628211UL;
                chars.Add((int)(Mix(h) & (uint)mask));
            }
            blocks.Add((chars, c.CharScale));
        }
        if (c.Binned)
        {
            var bins = new HashSet<int>();
            foreach (var (name, bucket) in ShapeBuckets(prompt, optionsAt))
            {
                ulong h = 0x165667B19E3779F9UL;
                foreach (char ch in name) h = (h ^ ch) * 1099511628211UL;
                h = (h ^ (ulong)(bucket + 1000)) * 1099511628211UL;
                bins.Add((int)(Mix(h) & (uint)mask));
            }
            blocks.Add((bins, c.BinScale));
        }
        var merged = new Dictionary<int, float>();
        foreach (var (set, scale) in blocks)
        {
            if (set.Count == 0) continue;
            float v = scale / MathF.Sqrt(set.Count);
            foreach (int k in set) merged[k] = merged.GetValueOrDefault(k) + v;
        }
        var shipped = PromptFeaturizer.Featurize(prompt, HashBits);
        int dense = 1 << HashBits;
        for (int k = 0; k < shipped.Indices.Length; k++)
        {
            if (shipped.Indices[k] >= dense && c.Dense) merged[shipped.Indices[k]] = shipped.Values[k];
        }
        int[] indices = [.. merged.Keys.Order()];
        float[] values = [.. indices.Select(k => merged[k])];
        return (indices, values);
    }

    /// <summary>Coarse, log-spaced buckets of the prompt's shape: tokens a linear model can weigh non-linearly.</summary>
    private static IEnumerable<(string, int)> ShapeBuckets(string prompt, int optionsAt)
    {
        static int Log2(double x) => x <= 0 ? -1 : (int)Math.Floor(Math.Log2(x + 1));
        string stem = optionsAt < 0 ? prompt : prompt[..optionsAt];
        string options = optionsAt < 0 ? "" : prompt[optionsAt..];
        yield return ("len", Log2(prompt.Length));
        yield return ("stem", Log2(stem.Length));
        yield return ("opts", Log2(options.Length));
        int digits = prompt.Count(char.IsDigit);
        yield return ("digits", Log2(digits));
        yield return ("optdigits", Log2(options.Count(char.IsDigit)));
        int math = prompt.Count(ch => "=+-*/^$\\()<>{}[]|".Contains(ch));
        yield return ("math", Log2(math));
        yield return ("lines", Log2(prompt.Count(ch => ch == '\n')));
        var optionLines = options.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Length > 2 && l[1] == '.' && l[0] is >= 'A' and <= 'J').ToList();
        yield return ("nopt", optionLines.Count);
        if (optionLines.Count > 0)
        {
            yield return ("optlen", Log2(optionLines.Average(l => l.Length)));
            int numeric = optionLines.Count(l => l[2..].Trim().Length > 0 && l[2..].Trim().All(ch => char.IsDigit(ch) || " .,-/%$^()√πx".Contains(ch)));
            yield return ("numeric", numeric);
            yield return ("optspread", Log2(optionLines.Max(l => l.Length) - optionLines.Min(l => l.Length)));
        }
    }

    private static ulong Mix(ulong h)
    {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        return h;
    }
}
