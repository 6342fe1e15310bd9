using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LocalLlm.Guardrails.Attacks;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Transforms.Text;
// The featurizer, then the calibrated linear model.
using AttackModel = Microsoft.ML.Data.TransformerChain<Microsoft.ML.Data.BinaryPredictionTransformer<Microsoft.ML.Calibrators.CalibratedModelParametersBase<Microsoft.ML.Trainers.LinearBinaryModelParameters, Microsoft.ML.Calibrators.PlattCalibrator>>>;

namespace LocalLlm.GuardTrainer;

/// <summary>
/// Trains the prompt-attack classifier with ML.NET (text featurisation + logistic regression), exports it to ONNX,
/// checks that ONNX Runtime gives the same probabilities as ML.NET, and writes it into the Guardrails package.
/// </summary>
internal static class Train
{
    private sealed class Row
    {
        public string Text { get; set; } = "";
        public bool Label { get; set; }
        public float Weight { get; set; }
    }

    private sealed class TextOnly
    {
        public string Text { get; set; } = "";
    }

    private sealed class Prediction
    {
        public float Probability { get; set; }
    }

    /// <summary>A featurisation and regularisation candidate; one is chosen on a validation slice of the training data.</summary>
    private sealed record Candidate(string Name, int CharNgram, float L1, float L2);

    private static readonly Candidate[] s_candidates =
    [
        new("word 1-2 + char 4, L1 0.05, L2 0.5", 4, 0.05f, 0.5f),
        new("word 1-2 + char 4, L1 0.05, L2 2", 4, 0.05f, 2f),
        new("word 1-2 + char 3, L1 0.05, L2 0.5", 3, 0.05f, 0.5f),
    ];

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    private static bool IsValidationBehavior(int behavior) => behavior % 5 == 1;

    private static bool IsValidationStyle(int style) => style % 4 == 3;

    public static int Run(string repoRoot, int? forceCandidate = null)
    {
        var clock = Stopwatch.StartNew();
        var attacks = Datasets.Attacks();
        var ordinary = Datasets.Ordinary();
        var goals = Datasets.TrainGoals();
        var realTrain = attacks.Concat(ordinary).Where(p => p.Split == Split.Train).ToList();
        var tune = ordinary.Where(p => p.Split == Split.Tune).ToList();
        var ml = new MLContext(seed: 7);

        // 1. Choose the candidate on a validation slice of the TRAINING data: behaviours never fitted on, wrapped in
        // synthetic styles never fitted on (a stand-in for an unseen attack method), plus harmless tasks in unseen
        // framings. The held-out method and the dev split play no part in the choice.
        var fitGoals = goals.Where(g => !IsValidationBehavior(g.Behavior)).Select(g => g.Goal).ToList();
        var valGoals = goals.Where(g => IsValidationBehavior(g.Behavior)).Select(g => g.Goal).ToList();
        var allAttackStyles = Enumerable.Range(0, SyntheticPrompts.AttackStyles.Length).ToList();
        var allOrdinaryStyles = Enumerable.Range(0, SyntheticPrompts.OrdinaryStyles.Length).ToList();
        var fit = realTrain.Where(p => !p.IsAttack || !IsValidationBehavior(p.Behavior)).ToList();
        fit.AddRange(SyntheticPrompts.Attacks(fitGoals, allAttackStyles.Where(s => !IsValidationStyle(s)), seed: 1).Select(a => Synthetic(a.Text, true)));
        fit.AddRange(SyntheticPrompts.Ordinary(allOrdinaryStyles.Where(s => !IsValidationStyle(s))).Select(o => Synthetic(o.Text, false)));
        var valReal = realTrain.Where(p => p.IsAttack && IsValidationBehavior(p.Behavior)).GroupBy(p => p.Source).Select(g => g.Select(p => p.Text).ToList()).ToList();
        var valStyles = SyntheticPrompts.Attacks(valGoals, allAttackStyles.Where(IsValidationStyle), seed: 2).Select(a => a.Text).ToList();
        var valOrdinary = SyntheticPrompts.Ordinary(allOrdinaryStyles.Where(IsValidationStyle)).Select(o => o.Text).ToList();
        Console.WriteLine($"validation (training data only): {valReal.Sum(m => m.Count)} real attacks of unseen behaviours, {valStyles.Count} unseen-style attacks, {valOrdinary.Count} unseen-style ordinary prompts");
        Candidate? best = null;
        double bestScore = double.MinValue, bestThreshold = 0.5;
        foreach (var candidate in s_candidates)
        {
            var fitted = Fit(ml, fit, candidate);
            // At most 0.5% false positives on the tune prompts AND at most 1% on harmless tasks in unseen framings:
            // the tune prompts alone are mostly exam questions, far easier to tell apart than role-play requests.
            double cut = Math.Max(ThresholdFor(ScoreAll(ml, fitted, tune.Select(p => p.Text)), 0.005), ThresholdFor(ScoreAll(ml, fitted, valOrdinary), 0.01));
            double Rate(List<string> texts) => ScoreAll(ml, fitted, texts).Count(p => p >= cut) / (double)texts.Count;
            double real = valReal.Average(Rate), styles = Rate(valStyles), falsePositives = Rate(valOrdinary);
            double score = (real + styles) / 2 - falsePositives;
            Console.WriteLine($"  {candidate.Name}: threshold {cut:0.000}; unseen behaviours {real:P1} (mean of methods: {string.Join(" ", valReal.Select(m => Rate(m).ToString("P0", CultureInfo.InvariantCulture)))}), unseen styles {styles:P1}, unseen-style ordinary FPR {falsePositives:P1} -> {score:0.000} ({clock.Elapsed.TotalSeconds:0} s)");
            if (score > bestScore)
                (best, bestScore, bestThreshold) = (candidate, score, cut);
        }
        if (forceCandidate is { } forced)
            best = s_candidates[forced];
        Console.WriteLine($"chosen: {best!.Name}{(forceCandidate is null ? "" : " (forced on the command line)")}");

        // 2. The shipped model: every training prompt, every synthetic style.
        var train = realTrain.ToList();
        train.AddRange(SyntheticPrompts.Attacks([.. goals.Select(g => g.Goal)], allAttackStyles, seed: 3).Select(a => Synthetic(a.Text, true)));
        train.AddRange(SyntheticPrompts.Ordinary(allOrdinaryStyles).Select(o => Synthetic(o.Text, false)));
        int positives = train.Count(p => p.IsAttack), negatives = train.Count - positives;
        Console.WriteLine($"train: {positives} attack prompts (methods: {string.Join(", ", train.Where(p => p.IsAttack).Select(p => p.Source).Distinct().Order())}), {negatives} ordinary prompts (incl. {train.Count(p => !p.IsAttack && p.Source == "synthetic")} synthetic)");
        Console.WriteLine($"held out: {attacks.Count(p => p.Split == Split.HeldOutMethod)} {Datasets.HeldOutMethod} prompts, {attacks.Count(p => p.Split == Split.Dev)} dev attack prompts, {tune.Count} tune + {ordinary.Count(p => p.Split == Split.Dev)} dev ordinary prompts");
        var model = Fit(ml, train, best);
        Console.WriteLine($"trained in {clock.Elapsed.TotalSeconds:0.0} s");

        // Export to ONNX; keep only the probability output.
        string outDir = Path.Combine(repoRoot, "src", "Sdk.Guardrails", "Attacks", "Model");
        Directory.CreateDirectory(outDir);
        string onnxPath = Path.Combine(outDir, PromptAttackClassifier.ModelFileName);
        using (var stream = File.Create(onnxPath))
            ml.Model.ConvertToOnnx(model, ml.Data.LoadFromEnumerable([new TextOnly()]), stream, "Probability"); // one input: Text
        Console.WriteLine($"ONNX model: {new FileInfo(onnxPath).Length / 1024.0:0} KiB");

        // Parity: ML.NET and ONNX Runtime must agree on held-out prompts.
        var check = attacks.Where(p => p.Split is Split.Dev or Split.HeldOutMethod).Concat(ordinary.Where(p => p.Split == Split.Dev)).Take(600).ToList();
        var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(model);
        using var session = new InferenceSession(onnxPath);
        string input = session.InputMetadata.Keys.Single();
        string output = session.OutputMetadata.Keys.Single(k => k.StartsWith("Probability", StringComparison.Ordinal));
        double worst = 0;
        foreach (var p in check)
        {
            string text = PromptAttackClassifier.Normalize(p.Text);
            float expected = engine.Predict(new Row { Text = text }).Probability;
            var tensor = new DenseTensor<string>(new[] { text }, [1, 1]);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, tensor)], [output]);
            float actual = results[0].AsEnumerable<float>().First();
            worst = Math.Max(worst, Math.Abs(expected - actual));
        }
        Console.WriteLine($"ONNX vs ML.NET on {check.Count} held-out prompts: max |p_onnx - p_mlnet| = {worst:G3}");
        if (worst > 1e-3)
        {
            Console.Error.WriteLine("ONNX export changes the probabilities; not shipping it.");
            return 1;
        }

        // Threshold: at most 0.5% false positives on the tune split of ordinary prompts (dev stays untouched), and no
        // lower than the validation model's threshold, which also bounds false positives on unseen role-play framings.
        using var classifier = PromptAttackClassifier.FromFile(onnxPath, threshold: 0.5);
        var tuneScores = tune.Select(p => classifier.Score(p.Text)).ToList();
        double threshold = Math.Max(ThresholdFor(tuneScores, 0.005), bestThreshold);
        var meta = new PromptAttackClassifier.Metadata(threshold, DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            $"JailbreakBench attack prompts except {Datasets.HeldOutMethod} (behaviours with index % 5 != 0) and {SyntheticPrompts.AttackStyles.Length} synthetic attack styles around those goals; MMLU question stems, MT-Bench turns, presidio sentences (70% hash split) and {SyntheticPrompts.OrdinaryStyles.Length} synthetic framings of harmless tasks; {best.Name}",
            positives, negatives);
        File.WriteAllText(Path.Combine(outDir, PromptAttackClassifier.MetadataFileName), JsonSerializer.Serialize(meta, s_json) + "\n");
        Console.WriteLine($"threshold {threshold:0.0000} (0.5% FPR on {tuneScores.Count} tune prompts, at least the validation threshold {bestThreshold:0.0000}); wrote {Path.GetRelativePath(repoRoot, outDir)} in {clock.Elapsed.TotalSeconds:0.0} s");
        return 0;
    }

    private static LabelledPrompt Synthetic(string text, bool isAttack) => new(text, isAttack, "synthetic", Split.Train);

    // The lowest threshold with at most the given share of ordinary prompts at or above it.
    private static double ThresholdFor(IEnumerable<double> ordinaryScores, double falsePositiveRate)
    {
        double[] sorted = [.. ordinaryScores.OrderDescending()];
        return sorted[(int)(sorted.Length * falsePositiveRate)] + 1e-4;
    }

    private static AttackModel Fit(MLContext ml, List<LabelledPrompt> train, Candidate candidate)
    {
        // Balance the classes: each side weighs the same in total. Within the attacks, the real methods weigh two
        // thirds and our synthetic styles one third, so the many synthetic prompts don't drown the real methods. Within the
        // ordinary prompts, the synthetic framings of harmless tasks weigh a quarter: they teach that role play,
        // fiction or urgency alone is not an attack.
        static float Share(float total, int count) => count == 0 ? 0 : total / count;
        int realAttacks = train.Count(p => p.IsAttack && p.Source != "synthetic"), synthAttacks = train.Count(p => p.IsAttack) - realAttacks;
        int realOrdinary = train.Count(p => !p.IsAttack && p.Source != "synthetic"), synthOrdinary = train.Count(p => !p.IsAttack) - realOrdinary;
        float side = realOrdinary + synthOrdinary;
        float realAttackWeight = Share(synthAttacks == 0 ? side : side * 2 / 3, realAttacks), synthAttackWeight = Share(side / 3, synthAttacks);
        float realOrdinaryWeight = Share(synthOrdinary == 0 ? side : side * 3 / 4, realOrdinary), synthOrdinaryWeight = Share(side / 4, synthOrdinary);
        var data = ml.Data.LoadFromEnumerable(train.Select(p => new Row
        {
            Text = PromptAttackClassifier.Normalize(p.Text),
            Label = p.IsAttack,
            Weight = (p.IsAttack, p.Source == "synthetic") switch
            {
                (true, false) => realAttackWeight,
                (true, true) => synthAttackWeight,
                (false, false) => realOrdinaryWeight,
                (false, true) => synthOrdinaryWeight,
            },
        }));
        var featurizer = new TextFeaturizingEstimator.Options
        {
            CaseMode = TextNormalizingEstimator.CaseMode.None, // lower-cased in Normalize: ORT's StringNormalizer needs an installed en_US locale
            KeepDiacritics = true, // ONNX export supports case folding only
            KeepPunctuations = true,
            KeepNumbers = true,
            WordFeatureExtractor = new WordBagEstimator.Options { NgramLength = 2, UseAllLengths = true, MaximumNgramsCount = [20_000, 20_000] },
            CharFeatureExtractor = new WordBagEstimator.Options { NgramLength = candidate.CharNgram, UseAllLengths = false, MaximumNgramsCount = [30_000] },
            Norm = TextFeaturizingEstimator.NormFunction.L2,
        };
        var pipeline = ml.Transforms.Text.FeaturizeText("Features", featurizer, nameof(Row.Text))
            .Append(ml.BinaryClassification.Trainers.LbfgsLogisticRegression(
                labelColumnName: nameof(Row.Label), featureColumnName: "Features", exampleWeightColumnName: nameof(Row.Weight),
                l1Regularization: candidate.L1, l2Regularization: candidate.L2));
        return pipeline.Fit(data);
    }

    private static List<double> ScoreAll(MLContext ml, AttackModel model, IEnumerable<string> texts)
    {
        var scored = model.Transform(ml.Data.LoadFromEnumerable(texts.Select(t => new Row { Text = PromptAttackClassifier.Normalize(t) })));
        return [.. ml.Data.CreateEnumerable<Prediction>(scored, reuseRowObject: false).Select(p => (double)p.Probability)];
    }
}
