namespace LocalLlm.ModelForge.Tests;

/// <summary>Every design, precision and attention variant runs through the raw ONNX Runtime GenAI API and does what it was designed to do.</summary>
public sealed class DesignTests
{
    public static TheoryData<WeightPrecision, AttentionKind> Variants()
    {
        var data = new TheoryData<WeightPrecision, AttentionKind>();
        foreach (WeightPrecision p in Enum.GetValues<WeightPrecision>())
        {
            foreach (AttentionKind a in Enum.GetValues<AttentionKind>())
                data.Add(p, a);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Copy_EveryVariant_RepeatsTheLastLagTokens(WeightPrecision precision, AttentionKind attention)
    {
        const int Lag = 5;
        using var temp = new TempDirectory();
        using var model = new Model(RawApi.Forge(temp, new ForgeOptions { Design = ModelDesign.Copy, Precision = precision, Attention = attention, Lag = Lag }));
        int[] prompt = ByteTokenizer.Encode("The quick brown fox jumps over the lazy dog. Héllo €!");

        int[] generated = RawLoop.Greedy(model, prompt, 24);

        Assert.Equal(CopyDesign.ExpectedContinuation(prompt, 24, Lag), generated);
        Assert.Equal(ByteTokenizer.Encode("dog. Héllo €!")[^Lag..], generated[..Lag]);
    }

    [Theory]
    [InlineData(WeightPrecision.Int4, 0)]
    [InlineData(WeightPrecision.Int4, 1)]
    [InlineData(WeightPrecision.Int8, 0)]
    public void Copy_OtherAccuracyLevels_RepeatsTheLastLagTokens(WeightPrecision precision, int accuracyLevel)
    {
        using var temp = new TempDirectory();
        using var model = new Model(RawApi.Forge(temp, new ForgeOptions { Design = ModelDesign.Copy, Precision = precision, AccuracyLevel = accuracyLevel, Lag = 2 }));
        int[] prompt = ByteTokenizer.Encode("ping-pong");

        Assert.Equal(CopyDesign.ExpectedContinuation(prompt, 10, 2), RawLoop.Greedy(model, prompt, 10));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Successor_EveryVariant_CountsUpByOne(WeightPrecision precision, AttentionKind attention)
    {
        using var temp = new TempDirectory();
        using var model = new Model(RawApi.Forge(temp, new ForgeOptions { Design = ModelDesign.Successor, Precision = precision, Attention = attention }));
        int[] prompt = ByteTokenizer.Encode("Count from A: A");

        int[] generated = RawLoop.Greedy(model, prompt, 20);

        Assert.Equal(SuccessorDesign.ExpectedContinuation(prompt, 20), generated);
        Assert.Equal("BCDEFGHIJKLMNOPQRSTU", ByteTokenizer.Decode(generated));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void FixedDistribution_EveryVariant_ReturnsTheDesignedLogits(WeightPrecision precision, AttentionKind attention)
    {
        using var temp = new TempDirectory();
        using var model = new Model(RawApi.Forge(temp, new ForgeOptions { Design = ModelDesign.FixedDistribution, Precision = precision, Attention = attention }));
        using var p = new GeneratorParams(model);
        p.SetSearchOption("max_length", 64);
        using var g = new Generator(model, p);
        g.AppendTokens(ByteTokenizer.Encode("any input at all"));

        for (int step = 0; step < 3; step++)
        {
            float[] logits = LastLogits(g);
            Assert.Equal(FixedDistribution.Logits, logits); // exact: every designed value is representable in fp16
            g.GenerateNextToken();
            Assert.Equal('a', g.GetNextTokens()[0]); // greedy picks the largest logit
        }
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Random_TinyShape_GeneratesValidIdsDeterministically(WeightPrecision precision, AttentionKind attention)
    {
        var shape = new ModelShape(HiddenSize: 64, Layers: 2, AttentionHeads: 4, KeyValueHeads: 2, HeadSize: 16,
            IntermediateSize: 96, VocabSize: 300, ContextLength: 256);
        using var temp = new TempDirectory();
        using var model = new Model(RawApi.Forge(temp, new ForgeOptions { Design = ModelDesign.Random, Shape = shape, Seed = 7, Precision = precision, Attention = attention }));
        int[] prompt = ByteTokenizer.Encode("benchmark prompt");

        int[] first = RawLoop.Greedy(model, prompt, 12);
        int[] second = RawLoop.Greedy(model, prompt, 12);

        Assert.NotEmpty(first);
        Assert.Equal(first, second);
        Assert.All(first, t => Assert.InRange(t, 0, shape.VocabSize - 1));
        using var tokenizer = new Tokenizer(model);
        int[] withFillers = [.. ByteTokenizer.Encode("Hi "), 261, shape.VocabSize - 1];
        Assert.Equal($"Hi <261><{shape.VocabSize - 1}>", tokenizer.Decode(withFillers)); // fillers decode as "<id>"
        Assert.Equal(ByteTokenizer.Decode(withFillers), tokenizer.Decode(withFillers));
    }

    [Fact]
    public void Random_PlainAndGqaAttention_ComputeTheSameLogits()
    {
        // Two independent implementations (ONNX ops with Concat cache vs GroupQueryAttention with fused norms) of
        // the same weights must agree: this checks RoPE layout, masking, GQA head grouping and the residual stream.
        using var temp = new TempDirectory();
        var options = new ForgeOptions { Design = ModelDesign.Random, Seed = 5, Shape = ModelShape.Tiny };
        using var plain = new Model(RawApi.Forge(temp, options, "plain"));
        using var gqa = new Model(RawApi.Forge(temp, options with { Attention = AttentionKind.GroupQueryAttention }, "gqa"));
        int[] prompt = ByteTokenizer.Encode("same weights, two graphs");

        float[][] a = StepLogits(plain, prompt, 6);
        float[][] b = StepLogits(gqa, prompt, 6);

        for (int step = 0; step < a.Length; step++)
        {
            float maxDiff = a[step].Zip(b[step], (x, y) => Math.Abs(x - y)).Max();
            Assert.True(maxDiff < 1e-4f, $"step {step}: logits differ by {maxDiff}");
            Assert.True(a[step].Max() - a[step].Min() > 0.1f, "the random logits should not be flat");
        }
    }

    /// <summary>Logits of the last position after the prompt and after each of the next greedy tokens.</summary>
    private static float[][] StepLogits(Model model, int[] prompt, int steps)
    {
        using var p = new GeneratorParams(model);
        p.SetSearchOption("max_length", prompt.Length + steps + 1);
        using var g = new Generator(model, p);
        g.AppendTokens(prompt);
        var result = new List<float[]>();
        for (int i = 0; i < steps; i++)
        {
            result.Add(LastLogits(g));
            g.GenerateNextToken();
        }
        return [.. result];
    }

    private static float[] LastLogits(Generator g)
    {
        using Tensor tensor = g.GetOutput("logits");
        long[] shape = tensor.Shape();
        int vocab = (int)shape[^1];
        int rows = (int)(tensor.NumElements() / vocab);
        if (tensor.Type() == ElementType.float16)
        {
            ReadOnlySpan<ushort> bits = tensor.GetData<ushort>().Slice((rows - 1) * vocab, vocab);
            return bits.ToArray().Select(b => (float)BitConverter.UInt16BitsToHalf(b)).ToArray();
        }
        Assert.Equal(ElementType.float32, tensor.Type());
        return tensor.GetData<float>().Slice((rows - 1) * vocab, vocab).ToArray();
    }
}
