using System.Globalization;

namespace LocalLlm.Bench.Suites;

/// <summary>
/// What lower precision costs in accuracy: the same weights in fp32, fp16, int8 and int4, scored on one text against the
/// fp32 reference (perplexity, KL divergence per token, top-1 agreement). With <c>--quality-model</c> it scores a real
/// trained model the user exported in several precisions; without, ModelForge's random folders (the same seeded weights
/// re-quantised), which measure the quantisation error of those weights, not of a trained model.
/// </summary>
internal sealed class QualitySuite : ISuite
{
    // A fixed evaluation text (the suite's own, so every run scores the same tokens).
    private const string Text =
        "The river rises in the hills above the town and runs south through farmland for most of its length. In spring the " +
        "melting snow raises it quickly, and the old stone bridge has been closed twice in living memory when the water reached " +
        "its arches. The town council keeps records of every flood since the bridge was built, and the records show that the " +
        "worst years came after dry winters followed by sudden warm rain. Farmers along the banks plant late in those years and " +
        "move their animals to higher fields. Children learn to swim in the quiet pools below the mill, where the current is " +
        "slow and the water is clear enough to see the stones on the bottom. In the autumn the river is low, and the fishermen " +
        "wait for the first heavy rains, when the trout come up from the lake to spawn in the gravel beds near the source.";

    public string Name => "quality";

    public string Description => "accuracy cost of fp16/int8/int4 against fp32";

    public Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        int tokens = context.Quick ? 64 : 256;
        bool real = context.Options.QualityModels.Count > 0;
        IReadOnlyList<(string Name, string Folder)> models = real
            ? [.. context.Options.QualityModels.Select(f => (Path.GetFileName(f.TrimEnd(Path.DirectorySeparatorChar)), f))]
            : [.. context.Models.PrecisionVariants().Select(m => (m.Name, m.Folder))];

        float[][]? reference = null;
        var table = new MarkdownTable("model", "weights on disk MiB", "perplexity", "perplexity vs reference", "KL(reference ‖ model) nats/token", "top-1 agrees with reference", "prefill ms");
        foreach (var (name, folder) in models)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (logProbs, ids, prefillMs) = LogProbabilities(folder, tokens);
            reference ??= logProbs;
            double nll = 0, kl = 0, agree = 0;
            for (int i = 0; i < ids.Length - 1; i++)
            {
                nll -= logProbs[i][ids[i + 1]];
                kl += KullbackLeibler(reference[i], logProbs[i]);
                agree += ArgMax(reference[i]) == ArgMax(logProbs[i]) ? 1 : 0;
            }
            int n = ids.Length - 1;
            double perplexity = Math.Exp(nll / n), referencePerplexity = context.Findings.GetValueOrDefault("quality.ppl.reference", perplexity);
            context.Findings.TryAdd("quality.ppl.reference", perplexity);
            context.Findings[$"quality.kl.{name}"] = kl / n;
            table.Row(name, MiB(FolderBytes(folder)), F(perplexity, "0.00"), F(perplexity / referencePerplexity, "0.000") + "×", F(kl / n, "0.0000"), F(agree / n * 100, "0.0") + " %", F(prefillMs));
            context.Log($"quality: {name} scored");
        }

        var md = new StringBuilder();
        md.AppendLine(real
            ? $"Models: the folders passed with `--quality-model` (the first, {models[0].Name}, is the reference). "
            : $"Models: ModelForge's random folders of the {context.Models.PrimaryShape.HiddenSize}-wide shape, the same seeded weights in each precision (the first, fp32, is the reference). " +
              "Random weights have no outliers the way trained ones do, so these rows measure the rounding error of these weights; pass a real model exported in several precisions with `--quality-model fp32-folder int4-folder ...` for a trained model's cost. ");
        md.AppendLine($"Scored on the suite's fixed English text, first {tokens} tokens, in one prefill (each position's next-token distribution). " +
            "Perplexity is exp(mean negative log-likelihood of the text); KL is the mean, over positions, of KL(reference ‖ model) of the next-token distributions; " +
            "top-1 is how often both pick the same most likely next token. Speed and memory of the same precisions are in the precision section.");
        md.AppendLine();
        md.AppendLine(table.ToString());
        return Task.FromResult(new SuiteResult("Precision: what lower precision costs in accuracy", md.ToString(), []));
    }

    // Each position's log-softmax over the vocabulary, from one prefill of the text's first tokens.
    private static (float[][] LogProbs, int[] Ids, double PrefillMs) LogProbabilities(string folder, int tokens)
    {
        using var model = new Model(folder);
        using var tokenizer = new Tokenizer(model);
        using var sequences = tokenizer.Encode(Text);
        int[] ids = [.. sequences[0].ToArray().Take(tokens)];
        using var parameters = new GeneratorParams(model);
        parameters.SetSearchOption("max_length", ids.Length + 1);
        using var generator = new Generator(model, parameters);
        long start = Stopwatch.GetTimestamp();
        generator.AppendTokens(ids);
        double prefillMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        using Tensor logits = generator.GetOutput("logits");
        int vocab = (int)logits.Shape()[^1];
        int rows = (int)(logits.NumElements() / vocab);
        if (rows != ids.Length)
            throw new InvalidOperationException($"The model returned logits for {rows} of {ids.Length} positions; the quality suite needs a folder whose model outputs logits for every position.");
        var result = new float[rows][];
        for (int r = 0; r < rows; r++)
        {
            var row = new double[vocab];
            if (logits.Type() == ElementType.float16)
            {
                ReadOnlySpan<Half> data = logits.GetData<Half>().Slice(r * vocab, vocab);
                for (int i = 0; i < vocab; i++) row[i] = (double)data[i];
            }
            else
            {
                ReadOnlySpan<float> data = logits.GetData<float>().Slice(r * vocab, vocab);
                for (int i = 0; i < vocab; i++) row[i] = data[i];
            }
            double max = row.Max(), sum = row.Sum(v => Math.Exp(v - max)), log = max + Math.Log(sum);
            result[r] = [.. row.Select(v => (float)(v - log))];
        }
        return (result, ids, prefillMs);
    }

    private static double KullbackLeibler(float[] p, float[] q)
    {
        double kl = 0;
        for (int i = 0; i < p.Length; i++)
            kl += Math.Exp(p[i]) * (p[i] - q[i]);
        return Math.Max(0, kl);
    }

    private static int ArgMax(float[] row)
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++)
            if (row[i] > row[best]) best = i;
        return best;
    }

    private static long FolderBytes(string folder) =>
        Directory.EnumerateFiles(folder).Where(f => f.EndsWith(".onnx", StringComparison.Ordinal) || f.EndsWith(".onnx.data", StringComparison.Ordinal)).Sum(f => new FileInfo(f).Length);
}
