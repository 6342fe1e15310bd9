using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using LocalLlm.Routing.Classifier;
using LocalLlm.RouterTrainer;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

// Trains the prompt classifier on one half of RouteLLM MMLU (split by question) and evaluates it and the
// baselines on the other half. One command: dotnet run --project eng/RouterTrainer -c Release
var dataOption = new Option<DirectoryInfo>("--data") { Description = "RouteLLM mmlu folder (responses/ + contaminated_prompts.jsonl).", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine(FindRepoRoot(), "..", "shared", "datasets", "routellm", "mmlu")) };
var outOption = new Option<FileInfo?>("--out") { Description = "Where to write the trained classifier (the package embeds src/Sdk.Routing/Classifier/prompt-classifier.bin)." };
var reportOption = new Option<FileInfo?>("--report") { Description = "Also write the results table (markdown) here." };
var seedOption = new Option<int>("--seed") { Description = "Split seed.", DefaultValueFactory = _ => 1 };
var heldOutOption = new Option<double>("--held-out") { Description = "Held-out share of questions.", DefaultValueFactory = _ => 0.5 };
var hashBitsOption = new Option<int>("--hash-bits") { Description = "Hashed feature space is 2^bits.", DefaultValueFactory = _ => 16 };
var experimentOption = new Option<string?>("--experiment") { Description = "Cross-validate featurizer/learner variants (names containing this text, or 'all') on the training half; nothing is written or scored held-out." };
var encoderOption = new Option<bool>("--encoder") { Description = "Evaluate router v2 on the sentence encoder (MMLU held-out half and MT-Bench) instead of training the n-gram classifier." };

var root = new RootCommand("Train and evaluate the LocalLlm prompt-classifier router on RouteLLM MMLU.")
{
    dataOption, outOption, reportOption, seedOption, heldOutOption, hashBitsOption, encoderOption, experimentOption,
};
root.SetAction(parse => Run(parse.GetValue(dataOption)!, parse.GetValue(outOption), parse.GetValue(reportOption),
    parse.GetValue(seedOption), parse.GetValue(heldOutOption), parse.GetValue(hashBitsOption), parse.GetValue(encoderOption), parse.GetValue(experimentOption)));
return root.Parse(args).Invoke();

static int Run(DirectoryInfo data, FileInfo? output, FileInfo? report, int seed, double heldOutShare, int hashBits, bool encoder, string? experiment)
{
    if (!data.Exists)
    {
        Console.Error.WriteLine($"Data folder {data.FullName} not found; pass --data <routellm/mmlu folder>.");
        return 2;
    }
    List<MmluRow> rows = MmluRows.Load(data.FullName);
    var train = rows.Where(r => !MmluRows.IsHeldOut(r.Prompt, seed, heldOutShare)).ToList();
    var test = rows.Where(r => MmluRows.IsHeldOut(r.Prompt, seed, heldOutShare)).ToList();
    Console.WriteLine($"rows {rows.Count}: train {train.Count}, held-out {test.Count} (split by question, seed {seed})");

    // Choose every setting by 5-fold cross-validation on the training half (folds split by question): the mean
    // APGR over folds is less noisy than one validation slice. The held-out half is scored once, at the end.
    var folds = Enumerable.Range(0, 5).Select(fold =>
    {
        bool InFold(MmluRow r) => (int)(MmluRows.Hash(r.Prompt, seed + 2000) % 5) == fold;
        return (Fit: train.Where(r => !InFold(r)).ToList(), Validation: train.Where(InFold).ToList());
    }).ToList();
    double CrossValidate(Func<List<MmluRow>, GainModel> trainOn) => folds.Average(f =>
    {
        var candidate = trainOn(f.Fit);
        return RouterMetrics.Compute(f.Validation, [.. f.Validation.Select(r => (double)candidate.Score(r.Prompt))]).Apgr;
    });
    if (experiment is not null)
    {
        Experiments.Run(folds, experiment);
        return 0;
    }
    if (encoder)
    {
        // The n-gram recipe at its shipped settings (L2 5, no subject head) is the blend partner.
        EncoderRouter.Run(train, test, folds, rows => { var m = TrainGain(rows, hashBits, 5); return p => m.Score(p); },
            Path.Combine(data.FullName, "..", "mt_bench"));
        return 0;
    }
    double bestL2 = 0, bestApgr = double.MinValue;
    foreach (double l2 in new[] { 0.3, 1, 2, 3, 5, 10 })
    {
        double apgr = CrossValidate(rows => TrainGain(rows, hashBits, l2));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  L2 {l2,-5} cross-validated APGR {apgr:F3}"));
        if (apgr > bestApgr) (bestApgr, bestL2) = (apgr, l2);
    }
    // A third head: text -> how much its subject gains from the large model (the subject-gain prior, learned from
    // training rows only; the subject name is never a feature). Kept only if it beats the two heads alone.
    double bestSubjectWeight = 0, bestSubjectL2 = 0;
    foreach (double subjectL2 in new[] { 1.0, 3 })
    {
        foreach (double weight in new[] { 0.1, 0.25, 0.5 })
        {
            double apgr = CrossValidate(rows => TrainRouter(rows, hashBits, bestL2, weight, subjectL2));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  subject head L2 {subjectL2,-4} weight {weight,-4} cross-validated APGR {apgr:F3}"));
            if (apgr > bestApgr) (bestApgr, bestSubjectWeight, bestSubjectL2) = (apgr, weight, subjectL2);
        }
    }

    var sw = Stopwatch.StartNew();
    var model = TrainRouter(train, hashBits, bestL2, bestSubjectWeight, bestSubjectL2);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trained on {train.Count} rows, L2 {bestL2}, subject head weight {bestSubjectWeight} (L2 {bestSubjectL2}), in {sw.Elapsed.TotalSeconds:F1} s"));

    // Score quantiles let the runtime pick a threshold for any large-tier share. Scores of training rows from
    // the model that saw them are overconfident, so the quantiles come from 5-fold out-of-fold scores.
    var outOfFold = new List<float>();
    foreach (var (foldFit, foldValidation) in folds)
    {
        var foldModel = TrainRouter(foldFit, hashBits, bestL2, bestSubjectWeight, bestSubjectL2);
        outOfFold.AddRange(foldValidation.Select(r => foldModel.Score(r.Prompt)));
    }
    float[] sortedScores = [.. outOfFold.Order()];
    float[] quantiles = [.. Enumerable.Range(0, 101).Select(k => sortedScores[(int)Math.Round(k / 100.0 * (sortedScores.Length - 1))])];

    var results = new List<(string Name, RouterMetrics Metrics)>();
    double[] classifierScores = [.. test.Select(r => (double)model.Score(r.Prompt))];
    results.Add(("prompt classifier (this package)", RouterMetrics.Compute(test, classifierScores)));
    // Random: averaged over 20 seeds.
    var randoms = Enumerable.Range(0, 20).Select(s =>
    {
        var random = new Random(s);
        return RouterMetrics.Compute(test, [.. test.Select(_ => random.NextDouble())]);
    }).ToList();
    results.Add(("random (mean of 20)", new RouterMetrics(randoms.Average(m => m.Apgr), randoms.Average(m => m.Cpt50), randoms.Average(m => m.Cpt80), randoms.Average(m => m.SmallShareAt95), randoms[0].WeakAccuracy, randoms[0].StrongAccuracy)));
    results.Add(("prompt length (longer → large)", RouterMetrics.Compute(test, [.. test.Select(r => (double)r.Prompt.Length)])));
    // Reference only: uses the subject name, which the classifier may not.
    var subjectError = train.GroupBy(r => r.Subject).ToDictionary(g => g.Key, g => g.Average(r => r.WeakCorrect ? 0.0 : 1.0));
    results.Add(("per-subject weak error (uses subject; reference)", RouterMetrics.Compute(test, [.. test.Select(r => subjectError.GetValueOrDefault(r.Subject, 0.5))])));
    var subjectGain = train.GroupBy(r => r.Subject).ToDictionary(g => g.Key, g => g.Average(r => (r.StrongCorrect ? 1.0 : 0) - (r.WeakCorrect ? 1.0 : 0)));
    results.Add(("per-subject strong-weak gain (uses subject; reference)", RouterMetrics.Compute(test, [.. test.Select(r => subjectGain.GetValueOrDefault(r.Subject, 0))])));
    var weakOnly = Train(train, hashBits, bestL2, r => !r.WeakCorrect);
    results.Add(("weak-model-wrong head alone (P(small wrong))", RouterMetrics.Compute(test, [.. test.Select(r => (double)weakOnly.Score(r.Prompt))])));

    // Cross-source: MT-Bench (judged chats, a different kind of prompt; never trained on), first turn, judge score 1-10.
    var mtBench = EncoderRouter.LoadMtBench(Path.Combine(data.FullName, "..", "mt_bench"));
    var mtQuality = mtBench.Select(r => (r.Weak, r.Strong)).ToList();
    double mtClassifier = RouterMetrics.Compute(mtQuality, [.. mtBench.Select(r => (double)model.Score(r.Prompt))]).Apgr;
    double mtLength = RouterMetrics.Compute(mtQuality, [.. mtBench.Select(r => (double)r.Prompt.Length)]).Apgr;
    double mtRandom = Enumerable.Range(0, 200).Select(s => { var rng = new Random(s); return RouterMetrics.Compute(mtQuality, [.. mtBench.Select(_ => rng.NextDouble())]).Apgr; }).Average();

    // Threshold transfer: thresholds from training quantiles, measured on held-out prompts.
    var operating = new StringBuilder();
    foreach (double share in new[] { 0.2, 0.5, 0.8 })
    {
        int k = (int)Math.Round((1 - share) * 100);
        float threshold = quantiles[k];
        var routedLarge = test.Select((r, i) => classifierScores[i] >= threshold).ToList();
        double actual = routedLarge.Count(x => x) / (double)test.Count;
        double quality = test.Select((r, i) => routedLarge[i] ? (r.StrongCorrect ? 1 : 0) : (r.WeakCorrect ? 1 : 0)).Average();
        operating.AppendLine(CultureInfo.InvariantCulture, $"| {share:P0} | {threshold:F3} | {actual:P1} | {quality:P1} |");
    }

    // Overhead: featurize + score one prompt, after warm-up; every held-out prompt timed 3 times.
    foreach (var r in test.Take(200)) model.Score(r.Prompt);
    var timings = new List<double>();
    for (int round = 0; round < 3; round++)
    {
        foreach (var r in test)
        {
            long start = Stopwatch.GetTimestamp();
            model.Score(r.Prompt);
            timings.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
    }
    timings.Sort();
    double p50 = timings[timings.Count / 2], p95 = timings[(int)(timings.Count * 0.95)];

    // Whole-router overhead: the time HybridRoutingChatClient spends choosing (classifier strategy), with
    // instant in-process tiers, read from each response's RouteDecision.
    var instant = new InstantChatClient();
    PromptClassifier trained;
    using (var memory = new MemoryStream())
    {
        PromptClassifier.Write(memory, hashBits, model.Heads, quantiles, "in-memory");
        memory.Position = 0;
        trained = PromptClassifier.Load(memory);
    }
    using var router = new LocalLlm.Routing.HybridRoutingChatClient(
        [new LocalLlm.Routing.RoutingTier("small", instant), new LocalLlm.Routing.RoutingTier("large", instant)],
        new LocalLlm.Routing.HybridRoutingOptions { Strategies = { new LocalLlm.Routing.Strategies.ClassifierRoutingStrategy(trained, 0.5) } });
    var routerTimings = new List<double>();
    foreach (var r in test)
    {
        var response = router.GetResponseAsync([new Microsoft.Extensions.AI.ChatMessage(Microsoft.Extensions.AI.ChatRole.User, r.Prompt)]).GetAwaiter().GetResult();
        routerTimings.Add(LocalLlm.Routing.RouteDecisionExtensions.GetRouteDecision(response)!.RouterOverhead.TotalMilliseconds);
    }
    routerTimings.Sort();

    var table = new StringBuilder();
    table.AppendLine(CultureInfo.InvariantCulture, $"Held-out: {test.Count} RouteLLM MMLU rows (split by question, seed {seed}); weak (small) accuracy {results[0].Metrics.WeakAccuracy:P1}, strong (large) {results[0].Metrics.StrongAccuracy:P1}.");
    table.AppendLine();
    table.AppendLine("| router | APGR | CPT(50%) | CPT(80%) | small-tier share at ≥95% strong quality |");
    table.AppendLine("| --- | --- | --- | --- | --- |");
    foreach (var (name, m) in results)
        table.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {m.Apgr:F3} | {m.Cpt50:P1} | {m.Cpt80:P1} | {m.SmallShareAt95:P1} |");
    table.AppendLine();
    table.AppendLine(CultureInfo.InvariantCulture, $"Classifier overhead (featurize + score, {timings.Count} calls, 1 thread): p50 {p50 * 1000:F1} µs, p95 {p95 * 1000:F1} µs. Whole router decision (HybridRoutingChatClient, classifier strategy, {routerTimings.Count} requests): p50 {routerTimings[routerTimings.Count / 2] * 1000:F1} µs, p95 {routerTimings[(int)(routerTimings.Count * 0.95)] * 1000:F1} µs. (Measured on a shared, loaded 2-core machine.)");
    table.AppendLine();
    table.AppendLine(CultureInfo.InvariantCulture, $"MT-Bench ({mtBench.Count} questions, turn 1, never trained on; weak mean judge score {mtBench.Average(r => r.Weak):F2}, strong {mtBench.Average(r => r.Strong):F2}): APGR prompt classifier {mtClassifier:F3}, prompt length {mtLength:F3}, random (mean of 200) {mtRandom:F3}.");
    table.AppendLine();
    table.AppendLine("| target large share | threshold (train quantile) | held-out large share | held-out quality |");
    table.AppendLine("| --- | --- | --- | --- |");
    table.Append(operating);
    Console.WriteLine();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"prompt classifier held-out APGR {results[0].Metrics.Apgr:F4}, MT-Bench APGR {mtClassifier:F4}"));
    Console.Write(table);

    if (output is not null)
    {
        string description = string.Create(CultureInfo.InvariantCulture,
            $"two logistic heads, P(strong right) - P(weak right) (L2 {bestL2}){(bestSubjectWeight == 0 ? "" : $", plus {bestSubjectWeight} x a text -> subject-gain-prior head (L2 {bestSubjectL2})")}, on {PromptFeaturizer.Describe(hashBits)}; RouteLLM MMLU train half (seed {seed}, {train.Count} rows); held-out APGR {results[0].Metrics.Apgr:F3}");
        Directory.CreateDirectory(output.DirectoryName!);
        using (var file = output.Create())
            PromptClassifier.Write(file, hashBits, model.Heads, quantiles, description);
        output.Refresh();
        Console.WriteLine($"wrote {output.FullName} ({output.Length / 1024.0:F0} KiB)");
        // Round trip: the shipped format scores exactly like the trained model.
        using var stream = output.OpenRead();
        var loaded = PromptClassifier.Load(stream);
        double maxDiff = test.Take(500).Max(r => Math.Abs(loaded.Score(r.Prompt) - model.Score(r.Prompt)));
        Console.WriteLine($"reloaded; max score difference on 500 prompts {maxDiff:E1}");
    }
    if (report is not null)
        File.WriteAllText(report.FullName, table.ToString());
    return 0;
}

static TrainedModel Train(List<MmluRow> rows, int hashBits, double l2, Func<MmluRow, bool>? label = null) =>
    // Label by default: the weak (small) model got it wrong, i.e. the prompt needs the large tier.
    Fit(rows.Select(r => (r.Prompt, label?.Invoke(r) ?? !r.WeakCorrect, 1f)), hashBits, l2);

static TrainedModel Fit(IEnumerable<(string Prompt, bool Label, float Weight)> rows, int hashBits, double l2)
{
    var (weights, bias) = LogisticFit.Fit(rows.Select(r => (PromptFeaturizer.Featurize(r.Prompt, hashBits), r.Label, r.Weight)), PromptFeaturizer.Dimension(hashBits), l2);
    return new TrainedModel(hashBits, weights, bias);
}

static GainModel TrainGain(List<MmluRow> rows, int hashBits, double l2)
{
    var strong = Train(rows, hashBits, l2, r => r.StrongCorrect);
    var weak = Train(rows, hashBits, l2, r => r.WeakCorrect);
    return new GainModel(hashBits, [new(1f, strong.Bias, strong.Weights), new(-1f, weak.Bias, weak.Weights)]);
}

static GainModel TrainRouter(List<MmluRow> rows, int hashBits, double l2, double subjectWeight, double subjectL2)
{
    var gain = TrainGain(rows, hashBits, l2);
    return subjectWeight == 0 ? gain : gain.WithSubjectHead(TrainSubjectHead(rows, hashBits, subjectL2), subjectWeight);
}

// Soft-label logistic regression on the text: the target of each row is its subject's mean strong-minus-weak gain
// over these rows, scaled to 0-1 (each row appears as a positive weighted by the target and a negative weighted by
// the rest). The subject only defines the target; the features are the prompt's, as at run time.
static TrainedModel TrainSubjectHead(List<MmluRow> rows, int hashBits, double l2)
{
    var gain = rows.GroupBy(r => r.Subject).ToDictionary(g => g.Key, g => g.Average(r => (r.StrongCorrect ? 1.0 : 0) - (r.WeakCorrect ? 1.0 : 0)));
    double min = gain.Values.Min(), max = gain.Values.Max();
    double Target(MmluRow r) => max > min ? (gain[r.Subject] - min) / (max - min) : 0.5;
    return Fit(rows.SelectMany(r => new[] { (r.Prompt, true, (float)Target(r)), (r.Prompt, false, (float)(1 - Target(r))) }), hashBits, l2);
}

static string FindRepoRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Sdk.sln"))) return dir.FullName;
    return Directory.GetCurrentDirectory();
}

/// <summary>Answers at once, so only the router's own time is measured.</summary>
internal sealed class InstantChatClient : Microsoft.Extensions.AI.IChatClient
{
    private static readonly Microsoft.Extensions.AI.ChatResponse s_answer = new(new Microsoft.Extensions.AI.ChatMessage(Microsoft.Extensions.AI.ChatRole.Assistant, "A"));

    public Task<Microsoft.Extensions.AI.ChatResponse> GetResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, Microsoft.Extensions.AI.ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        Task.FromResult(new Microsoft.Extensions.AI.ChatResponse([.. s_answer.Messages]));

    public IAsyncEnumerable<Microsoft.Extensions.AI.ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, Microsoft.Extensions.AI.ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

internal sealed class Example
{
    public bool Label { get; set; }
    public float Weight { get; set; }
    public VBuffer<float> Features { get; set; }
}

/// <summary>The shipped shape: heads combined exactly as <see cref="PromptClassifier"/> combines them.</summary>
internal sealed record GainModel(int HashBits, PromptClassifier.Head[] Heads)
{
    /// <summary>
    /// Adds the subject-gain head with <paramref name="weight"/> relative to the gain heads, scaling every coefficient
    /// so they sum to at most 1 in absolute terms: the shipped score then stays inside 0-1 (only the ranking matters).
    /// </summary>
    public GainModel WithSubjectHead(TrainedModel subject, double weight)
    {
        float a = (float)(1 / (1 + weight)), b = (float)(weight / (1 + weight));
        return new GainModel(HashBits, [.. Heads.Select(h => h with { Coefficient = h.Coefficient * a }), new(b, subject.Bias, subject.Weights)]);
    }

    public float Score(string prompt)
    {
        var (indices, values) = PromptFeaturizer.Featurize(prompt, HashBits);
        return PromptClassifier.Combine(Heads, indices, values);
    }
}

/// <summary>Trained weights, scored with the package's featurizer (so evaluation scores what ships).</summary>
internal sealed record TrainedModel(int HashBits, float[] Weights, float Bias)
{
    public float Score(string prompt) => 1f / (1f + MathF.Exp(-Logit(prompt)));

    public float Logit(string prompt)
    {
        var (indices, values) = PromptFeaturizer.Featurize(prompt, HashBits);
        float z = Bias;
        for (int i = 0; i < indices.Length; i++) z += Weights[indices[i]] * values[i];
        return z;
    }
}

