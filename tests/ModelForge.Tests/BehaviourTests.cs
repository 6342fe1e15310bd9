namespace LocalLlm.ModelForge.Tests;

/// <summary>The designs hold where tests lean on them hardest: long prompts and sampling statistics.</summary>
public sealed class BehaviourTests
{
    public static TheoryData<WeightPrecision, AttentionKind> LongPromptCases() => new()
    {
        { WeightPrecision.Fp16, AttentionKind.Plain },
        { WeightPrecision.Int4, AttentionKind.GroupQueryAttention },
    };

    [Theory]
    [MemberData(nameof(LongPromptCases))]
    public void Copy_PromptNearTheContextLength_StillCopiesExactly(WeightPrecision precision, AttentionKind attention)
    {
        const int Lag = 37;
        using var temp = new TempDirectory();
        using var model = new Model(RawApi.Forge(temp, new ForgeOptions { Design = ModelDesign.Copy, Lag = Lag, Precision = precision, Attention = attention, ContextLength = 1024 }));
        var random = new Random(11);
        int[] prompt = Enumerable.Range(0, 980).Select(_ => random.Next(0, 256)).ToArray();

        int[] generated = RawLoop.Greedy(model, prompt, 40);

        Assert.Equal(CopyDesign.ExpectedContinuation(prompt, 40, Lag), generated);
    }

    [Fact]
    public void FixedDistribution_SamplingTopK_MatchesTheAnalyticDistribution()
    {
        // The logits do not depend on the input, so every step of every sequence in the batch is an independent draw
        // (ORT GenAI 0.18 caps batch_size at 32).
        const int Batch = 30, Steps = 100, Draws = Batch * Steps, TopK = 4;
        using var temp = new TempDirectory();
        using var model = new Model(RawApi.Forge(temp, new ForgeOptions { Design = ModelDesign.FixedDistribution, Attention = AttentionKind.GroupQueryAttention, ContextLength = 128 }));
        using var tokenizer = new Tokenizer(model);
        using var prompts = tokenizer.EncodeBatch(Enumerable.Repeat("x", Batch).ToArray());
        using var p = new GeneratorParams(model);
        p.SetSearchOption("batch_size", Batch);
        p.SetSearchOption("max_length", Steps + 1);
        p.SetSearchOption("do_sample", true);
        p.SetSearchOption("top_k", TopK);
        p.SetSearchOption("temperature", 0.7);
        p.SetSearchOption("random_seed", 1234);
        using var g = new Generator(model, p);
        g.AppendTokenSequences(prompts);
        var counts = new Dictionary<int, int>();
        for (int i = 0; i < Steps; i++)
        {
            g.GenerateNextToken();
            foreach (int token in g.GetNextTokens())
                counts[token] = counts.GetValueOrDefault(token) + 1;
        }
        Assert.Equal(Draws, counts.Values.Sum());

        // Top-4 of the designed logits ('a'..'d'), renormalized at temperature 0.7.
        double[] weights = Enumerable.Range(0, TopK).Select(i => Math.Exp(FixedDistribution.Logits['a' + i] / 0.7)).ToArray();
        double total = weights.Sum();
        Assert.All(counts.Keys, t => Assert.InRange(t, 'a', 'a' + TopK - 1));
        double chiSquare = 0;
        for (int i = 0; i < TopK; i++)
        {
            double expected = Draws * weights[i] / total;
            double observed = counts.GetValueOrDefault('a' + i);
            chiSquare += (observed - expected) * (observed - expected) / expected;
        }
        Assert.True(chiSquare < 16.27, $"chi-square {chiSquare:F2} with 3 degrees of freedom (p < 0.001 limit 16.27)");
    }
}
