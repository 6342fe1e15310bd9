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
        Assert.Contains("copy design only", Assert.Throws<ArgumentException>(() => new ForgeOptions { Design = ModelDesign.Successor, LoraRank = 1 }.Validate()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CanonicalKey_LoraRank_ChangesOnlyWhenSet()
    {
        var plain = new ForgeOptions { Lag = 3 };
        Assert.DoesNotContain("lora", plain.CanonicalKey, StringComparison.Ordinal);
        Assert.NotEqual(plain.CanonicalKey, (plain with { LoraRank = 1 }).CanonicalKey);
    }
}
