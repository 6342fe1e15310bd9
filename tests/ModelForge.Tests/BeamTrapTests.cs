namespace LocalLlm.ModelForge.Tests;

/// <summary>The beam-trap design: greedy says "ac", beam search finds the more probable "bx", and the logits are the designed ones.</summary>
public sealed class BeamTrapTests
{
    private static readonly int[] s_prompt = ByteTokenizer.Encode("question\n");

    [Theory]
    [InlineData(WeightPrecision.Fp32, AttentionKind.Plain)]
    [InlineData(WeightPrecision.Fp16, AttentionKind.GroupQueryAttention)]
    public void Greedy_TakesTheLikelierFirstToken_AndEnds(WeightPrecision precision, AttentionKind attention)
    {
        using var temp = new TempDirectory();
        using var model = new Model(RawApi.Forge(temp, new ForgeOptions { Design = ModelDesign.BeamTrap, Precision = precision, Attention = attention }));

        int[] generated = RawLoop.Greedy(model, s_prompt, 8);

        Assert.Equal([.. ByteTokenizer.Encode(BeamTrapDesign.GreedyReply), ByteTokenizer.ImEnd], generated);
    }

    [Fact]
    public void BeamSearch_FindsTheMostProbableReply()
    {
        using var temp = new TempDirectory();
        using var model = new Model(RawApi.Forge(temp, new ForgeOptions { Design = ModelDesign.BeamTrap }));
        using var p = new GeneratorParams(model);
        p.SetSearchOption("max_length", s_prompt.Length + 8);
        p.SetSearchOption("num_beams", 4);
        using var g = new Generator(model, p);
        g.AppendTokens(s_prompt);
        while (!g.IsDone())
            g.GenerateNextToken();

        int[] reply = g.GetSequence(0).ToArray()[s_prompt.Length..];

        Assert.Equal(ByteTokenizer.Encode(BeamTrapDesign.BestReply), reply.TakeWhile(t => t != ByteTokenizer.ImEnd));
        Assert.True(BeamTrapDesign.BestLogProbability > BeamTrapDesign.GreedyLogProbability);
    }

    [Fact]
    public void Logits_AfterEachContext_AreTheDesignedLogProbabilities()
    {
        using var temp = new TempDirectory();
        using var model = new Model(RawApi.Forge(temp, new ForgeOptions { Design = ModelDesign.BeamTrap }));
        foreach (int last in new[] { '\n', 'a', 'b', 'x' })
        {
            using var p = new GeneratorParams(model);
            p.SetSearchOption("max_length", 8);
            using var g = new Generator(model, p);
            g.AppendTokens([.. ByteTokenizer.Encode("q"), last]);
            using var logits = g.GetOutput("logits");
            var data = logits.GetData<float>();
            var row = data[^DesignedModel.VocabSize..].ToArray();
            double max = row.Max();
            double sum = row.Sum(v => Math.Exp(v - max));
            foreach (var (token, probability) in BeamTrapDesign.Next(last))
                Assert.Equal(probability, Math.Exp(row[token] - max) / sum, 4);
        }
    }

    [Theory]
    [InlineData(WeightPrecision.Int8)]
    [InlineData(WeightPrecision.Int4)]
    public void Validate_QuantizedBeamTrap_NamesThePrecision(WeightPrecision precision)
    {
        var e = Assert.Throws<ArgumentException>(() => new ForgeOptions { Design = ModelDesign.BeamTrap, Precision = precision }.Validate());
        Assert.Contains("Precision", e.Message, StringComparison.Ordinal);
    }
}
