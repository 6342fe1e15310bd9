namespace LocalLlm.ModelForge.Tests;

/// <summary>
/// The copy design with LoRA inputs: the base folder copies at its lag, and ONNX Runtime GenAI's Adapters, given the
/// <c>.onnx_adapter</c> that <see cref="Forge.WriteCopyAdapter"/> writes, make it copy at the adapter's lag.
/// </summary>
public sealed class AdapterTests
{
    public static TheoryData<WeightPrecision, AttentionKind> Variants() => new()
    {
        { WeightPrecision.Fp32, AttentionKind.Plain },
        { WeightPrecision.Fp16, AttentionKind.Plain },
        { WeightPrecision.Int4, AttentionKind.GroupQueryAttention },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void CopyAdapter_Active_CopiesAtTheAdapterLagAndOffAtTheBaseLag(WeightPrecision precision, AttentionKind attention)
    {
        using var temp = new TempDirectory();
        var options = new ForgeOptions { Design = ModelDesign.Copy, Lag = 3, LoraRank = 1, Precision = precision, Attention = attention, ContextLength = 256 };
        string folder = RawApi.Forge(temp, options);
        string adapterPath = Path.Combine(temp.Path, "lag2.onnx_adapter");
        Forge.WriteCopyAdapter(options, 2, adapterPath);
        int[] prompt = [.. Enumerable.Range(0, 40).Select(i => (i * 37 + 11) % 256)];

        using var model = new Model(folder);
        using var adapters = new Adapters(model);
        adapters.LoadAdapter(adapterPath, "lag2");

        Assert.Equal(CopyDesign.ExpectedContinuation(prompt, 20, 3), RawLoop.Greedy(model, prompt, 20));
        Assert.Equal(CopyDesign.ExpectedContinuation(prompt, 20, 2), RawLoop.Greedy(model, prompt, 20, adapters, "lag2"));
        Assert.Equal(CopyDesign.ExpectedContinuation(prompt, 20, 3), RawLoop.Greedy(model, prompt, 20)); // off again
    }

    [Fact]
    public void WriteCopyAdapter_OptionsWithoutLora_ThrowsNamingTheFix()
    {
        using var temp = new TempDirectory();
        var e = Assert.Throws<ArgumentException>(() => Forge.WriteCopyAdapter(new ForgeOptions { Lag = 3 }, 2, Path.Combine(temp.Path, "x.onnx_adapter")));
        Assert.Contains("LoraRank", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Forge.WriteCopyAdapter(new ForgeOptions { Lag = 3, LoraRank = 1 }, 0, Path.Combine(temp.Path, "x.onnx_adapter")));
        Assert.Contains("LoraRank applies to the copy design", Assert.Throws<ArgumentException>(() => new ForgeOptions { Design = ModelDesign.Successor, LoraRank = 1 }.Validate()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RandomAdapter_LoraInputsLeaveTheBaseExactAndTheAdapterMovesTheLogits()
    {
        using var temp = new TempDirectory();
        var plainOptions = new ForgeOptions { Design = ModelDesign.Random, ContextLength = 128 };
        var loraOptions = plainOptions with { LoraRank = 8 };
        string adapterPath = Path.Combine(temp.Path, "random.onnx_adapter");
        Forge.WriteRandomAdapter(loraOptions, 3, adapterPath);
        int[] prompt = [.. Enumerable.Range(0, 24).Select(i => (i * 53 + 7) % 256)];
        using var plain = new Model(RawApi.Forge(temp, plainOptions, "plain"));
        using var lora = new Model(RawApi.Forge(temp, loraOptions, "lora"));
        using var adapters = new Adapters(lora);
        adapters.LoadAdapter(adapterPath, "random");

        float[] basePlain = FirstLogits(plain, prompt, null);
        float[] baseLora = FirstLogits(lora, prompt, null);
        float[] adapted = FirstLogits(lora, prompt, adapters);

        Assert.Equal(basePlain, baseLora); // zero defaults: q + (x·0)·0 is q exactly
        double moved = basePlain.Zip(adapted, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(moved > 1e-4, $"the adapter should change the logits (max change {moved})");
        Assert.Equal(RawLoop.Greedy(plain, prompt, 8), RawLoop.Greedy(lora, prompt, 8));
    }

    private static float[] FirstLogits(Model model, int[] prompt, Adapters? adapters)
    {
        using var p = new GeneratorParams(model);
        p.SetSearchOption("max_length", prompt.Length + 1);
        using var g = new Generator(model, p);
        if (adapters is not null) g.SetActiveAdapter(adapters, "random");
        g.AppendTokens(prompt);
        using Tensor logits = g.GetOutput("logits");
        int vocab = (int)logits.Shape()[^1];
        return logits.GetData<float>()[^vocab..].ToArray();
    }

    [Fact]
    public void CanonicalKey_LoraRank_ChangesOnlyWhenSet()
    {
        var plain = new ForgeOptions { Lag = 3 };
        Assert.DoesNotContain("lora", plain.CanonicalKey, StringComparison.Ordinal);
        Assert.NotEqual(plain.CanonicalKey, (plain with { LoraRank = 1 }).CanonicalKey);
    }
}
