using System.Globalization;
using System.Text.Json;
using LocalLlm.Eng;
using LocalLlm.Embeddings;

namespace LocalLlm.RouterTrainer;

/// <summary>One MT-Bench question: the first turn (what the router decides on) and each model's mean judge score over both turns.</summary>
internal sealed record MtBenchRow(string Prompt, string Category, double Weak, double Strong);

/// <summary>
/// Router v2 on the sentence encoder: two logistic heads over the all-MiniLM-L6-v2 embedding of the prompt (P(strong
/// right), P(weak right)), their difference as the large tier's expected gain, optionally blended with the n-gram
/// classifier's score. Settings by 5-fold cross-validation on the MMLU training half; then MMLU held-out half once,
/// and MT-Bench (a different kind of prompt, never trained on) once.
/// </summary>
internal static class EncoderRouter
{
    public static void Run(List<MmluRow> train, List<MmluRow> test, List<(List<MmluRow> Fit, List<MmluRow> Validation)> folds,
        Func<List<MmluRow>, Func<string, double>> trainNgram, string mtBenchFolder)
    {
        var mt = LoadMtBench(mtBenchFolder);
        var all = train.Concat(test).Select(r => r.Prompt).Concat(mt.Select(m => m.Prompt)).Distinct().ToList();
        var vectors = EmbeddingCache.Embed(all, "router-minilm-256");
        var byText = new Dictionary<string, float[]>(StringComparer.Ordinal);
        for (int i = 0; i < all.Count; i++) byText[all[i]] = vectors[i];
        double[] X(string prompt) => [.. byText[prompt].Select(v => (double)v)];

        // Cross-validate the heads' L2 and the blend weight of the n-gram gain score (both z-scored on the fold).
        // Head candidates: logistic regressions (L2) and one-hidden-layer MLPs (negative: weight decay of a 32-unit MLP).
        double[] l2s = [1e-4, 1e-3, 1e-2, -1e-4, -1e-3];
        double[] blends = [0, 0.5, 1, 2, double.PositiveInfinity]; // weight of the encoder score; ∞ = encoder alone
        var cv = new double[l2s.Length, blends.Length];
        foreach (var (fit, validation) in folds)
        {
            var ngram = trainNgram(fit);
            double[] n = Z([.. validation.Select(r => ngram(r.Prompt))]);
            for (int a = 0; a < l2s.Length; a++)
            {
                var heads = FitHeads(fit, X, l2s[a]);
                double[] e = Z([.. validation.Select(r => heads(X(r.Prompt)))]);
                for (int b = 0; b < blends.Length; b++)
                {
                    double[] s = [.. n.Select((v, i) => Blend(v, e[i], blends[b]))];
                    cv[a, b] += RouterMetrics.Compute(validation, s).Apgr / folds.Count;
                }
            }
        }
        Console.WriteLine();
        Console.WriteLine("## Router v2 (encoder): 5-fold cross-validated APGR on the MMLU training half");
        Console.WriteLine();
        Console.WriteLine("| heads L2 | " + string.Join(" | ", blends.Select(BlendName)) + " |");
        Console.WriteLine("| --- | " + string.Join(" | ", blends.Select(_ => "---:")) + " |");
        (int bestA, int bestB) = (0, 0);
        for (int a = 0; a < l2s.Length; a++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {l2s[a]} | {string.Join(" | ", Enumerable.Range(0, blends.Length).Select(b => cv[a, b].ToString("F3", CultureInfo.InvariantCulture)))} |"));
            for (int b = 0; b < blends.Length; b++)
                if (cv[a, b] > cv[bestA, bestB]) (bestA, bestB) = (a, b);
        }

        // Held-out: MMLU test half and MT-Bench, scored once with the chosen settings (and the alternatives, for the table).
        var ngramAll = trainNgram(train);
        var headsAll = FitHeads(train, X, l2s[bestA]);
        double[] nTest = Z([.. test.Select(r => ngramAll(r.Prompt))]), eTest = Z([.. test.Select(r => headsAll(X(r.Prompt)))]);
        double[] nMt = Z([.. mt.Select(r => ngramAll(r.Prompt))]), eMt = Z([.. mt.Select(r => headsAll(X(r.Prompt)))]);
        var mtQuality = mt.Select(r => (r.Weak, r.Strong)).ToList();
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Chosen: heads L2 {l2s[bestA]}, {BlendName(blends[bestB])} (CV APGR {cv[bestA, bestB]:F3}). Held-out, scored once:"));
        Console.WriteLine();
        Console.WriteLine($"| router | MMLU held-out half ({test.Count} rows) APGR | MT-Bench ({mt.Count} questions, turn 1; never trained on) APGR |");
        Console.WriteLine("| --- | ---: | ---: |");
        foreach (double blend in blends)
        {
            double mmlu = RouterMetrics.Compute(test, [.. nTest.Select((v, i) => Blend(v, eTest[i], blend))]).Apgr;
            double mtb = RouterMetrics.Compute(mtQuality, [.. nMt.Select((v, i) => Blend(v, eMt[i], blend))]).Apgr;
            string mark = blend == blends[bestB] ? " (chosen)" : "";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {(blend == 0 ? "n-gram classifier alone (v1 recipe)" : BlendName(blend))}{mark} | {mmlu:F3} | {mtb:F3} |"));
        }
        var random = Enumerable.Range(0, 200).Select(s => { var rng = new Random(s); return RouterMetrics.Compute(mtQuality, [.. mt.Select(_ => rng.NextDouble())]).Apgr; }).Average();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| random (MT-Bench: mean of 200) | 0.500 | {random:F3} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| prompt length (longer → large) | {RouterMetrics.Compute(test, [.. test.Select(r => (double)r.Prompt.Length)]).Apgr:F3} | {RouterMetrics.Compute(mtQuality, [.. mt.Select(r => (double)r.Prompt.Length)]).Apgr:F3} |"));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"MT-Bench: weak mean score {mt.Average(r => r.Weak):F2}, strong {mt.Average(r => r.Strong):F2}; with {mt.Count} questions one APGR has a wide spread (a different random order moves it by about ±0.1)."));
    }

    private static string BlendName(double blend) => double.IsPositiveInfinity(blend) ? "encoder heads alone" : blend == 0 ? "n-gram alone" : $"n-gram + {blend.ToString(CultureInfo.InvariantCulture)} × encoder";

    private static double Blend(double ngram, double encoder, double weight) => double.IsPositiveInfinity(weight) ? encoder : ngram + (weight * encoder);

    private static double[] Z(double[] s)
    {
        double m = s.Average(), sd = Math.Sqrt(s.Average(v => (v - m) * (v - m)));
        return [.. s.Select(v => sd > 0 ? (v - m) / sd : 0)];
    }

    /// <summary>P(strong right) − P(weak right), each a logistic regression (L2 <paramref name="l2"/>) or, for a negative value, a 32-unit MLP (weight decay −<paramref name="l2"/>) on the embedding.</summary>
    private static Func<double[], double> FitHeads(List<MmluRow> rows, Func<string, double[]> x, double l2)
    {
        var features = rows.Select(r => x(r.Prompt)).ToList();
        var ones = rows.Select(_ => 1.0).ToList();
        if (l2 < 0)
        {
            var strongMlp = Mlp.Fit(features, [.. rows.Select(r => r.StrongCorrect ? 1.0 : 0)], ones, 32, -l2, epochs: 6);
            var weakMlp = Mlp.Fit(features, [.. rows.Select(r => r.WeakCorrect ? 1.0 : 0)], ones, 32, -l2, epochs: 6);
            return f => strongMlp.Score(f) - weakMlp.Score(f);
        }
        var strong = LogisticRegression.Fit(features, [.. rows.Select(r => r.StrongCorrect ? 1.0 : 0)], ones, l2);
        var weak = LogisticRegression.Fit(features, [.. rows.Select(r => r.WeakCorrect ? 1.0 : 0)], ones, l2);
        return f => strong.Score(f) - weak.Score(f);
    }

    public static List<MtBenchRow> LoadMtBench(string folder)
    {
        var contaminated = File.ReadLines(Path.Combine(folder, "contaminated_prompts.jsonl")).Where(l => l.Length > 0)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("eval_prompt").GetString()!).ToHashSet(StringComparer.Ordinal);
        var scores = new Dictionary<(int Id, string Model), List<double>>();
        foreach (string line in File.ReadLines(Path.Combine(folder, "judgements.jsonl")).Where(l => l.Length > 0))
        {
            var j = JsonDocument.Parse(line).RootElement;
            var key = (j.GetProperty("question_id").GetInt32(), j.GetProperty("model").GetString()!);
            if (!scores.TryGetValue(key, out var list)) scores[key] = list = [];
            list.Add(j.GetProperty("score").GetDouble());
        }
        var rows = new List<MtBenchRow>();
        foreach (string line in File.ReadLines(Path.Combine(folder, "question.jsonl")).Where(l => l.Length > 0))
        {
            var q = JsonDocument.Parse(line).RootElement;
            var turns = q.GetProperty("turns").EnumerateArray().Select(t => t.GetString()!).ToList();
            if (turns.Any(contaminated.Contains))
                continue;
            int id = q.GetProperty("question_id").GetInt32();
            rows.Add(new MtBenchRow(turns[0], q.GetProperty("category").GetString()!,
                scores[(id, MmluRows.WeakColumn)].Average(), scores[(id, MmluRows.StrongColumn)].Average()));
        }
        return rows;
    }
}
