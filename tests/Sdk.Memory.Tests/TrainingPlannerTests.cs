using LocalLlm.Memory;

namespace LocalLlm.Memory.Tests;

public sealed class TrainingPlannerTests
{
    private static long StateBytes(MemoryBreakdown b) =>
        b[TrainingPlanner.Parameters] + b[TrainingPlanner.Gradients] + b[TrainingPlanner.OptimizerStates];

    // ZeRO (Rajbhandari et al. 2020): mixed-precision Adam holds 2 + 2 + 12 = 16 bytes per parameter.
    [Theory]
    [InlineData(TrainingPrecision.MixedFp16, OptimizerKind.Adam, 16)]
    [InlineData(TrainingPrecision.Fp32, OptimizerKind.Adam, 16)]
    [InlineData(TrainingPrecision.MixedFp16, OptimizerKind.Adam8Bit, 10)]
    [InlineData(TrainingPrecision.Fp32, OptimizerKind.SgdMomentum, 12)]
    public void Estimate_FullFineTuning_BytesPerParameterMatchPublishedRules(TrainingPrecision precision, OptimizerKind optimizer, int bytesPerParameter)
    {
        ModelShape llama = KnownShapes.Llama2_7B();
        MemoryBreakdown b = TrainingPlanner.Estimate(llama, new TrainingSetup { Precision = precision, Optimizer = optimizer });
        Assert.Equal(bytesPerParameter * llama.Parameters, StateBytes(b));
    }

    [Fact]
    public void LoraParameters_Llama7BRank8QueryValue_IsPeftsPublishedCount()
    {
        // PEFT prints "trainable params: 4,194,304" for LLaMA-7B, r=8, q_proj and v_proj.
        Assert.Equal(4_194_304L, TrainingPlanner.LoraParameters(KnownShapes.Llama2_7B(), 8, LoraTargets.QueryValue));
    }

    [Fact]
    public void LoraParameters_AllTargets_SumsEveryMatrix()
    {
        ModelShape m = KnownShapes.Llama32_1B();
        // Per layer: q (2048+2048) + k,v 2×(2048+512) + o (2048+2048) + gate, up, down 3×(2048+8192) = 44032; × r 4 × 16 layers.
        Assert.Equal(44_032L * 4 * 16, TrainingPlanner.LoraParameters(m, 4, LoraTargets.All));
    }

    // The seed: a multi-billion-parameter model fine-tunes with LoRA on one 24 GB GPU; full fine-tuning does not fit.
    [Fact]
    public void Estimate_Lora7BOnFp16Base_FitsA24GBGpu()
    {
        ModelShape llama = KnownShapes.Llama2_7B();
        var lora = new TrainingSetup { LoraRank = 8, LoraTargets = LoraTargets.QueryValue, SequenceLength = 512, GradientCheckpointing = true, FrameworkOverheadBytes = 1L << 30 };
        MemoryBreakdown b = TrainingPlanner.Estimate(llama, lora);
        Assert.InRange(b.DeviceBytes, 13_000_000_000L, 24_000_000_000L);

        MemoryBreakdown full = TrainingPlanner.Estimate(llama, new TrainingSetup { SequenceLength = 512, GradientCheckpointing = true });
        Assert.True(full.DeviceBytes > 100_000_000_000L);
    }

    [Fact]
    public void Estimate_LoraOverInt8Base_HalvesTheFrozenWeights()
    {
        ModelShape llama = KnownShapes.Llama2_7B();
        var fp16 = new TrainingSetup { LoraRank = 16, LoraTargets = LoraTargets.All, GradientCheckpointing = true };
        MemoryBreakdown a = TrainingPlanner.Estimate(llama, fp16);
        MemoryBreakdown b = TrainingPlanner.Estimate(llama, fp16 with { FrozenBasePrecision = NumberFormat.Int8 });
        long adapters = TrainingPlanner.LoraParameters(llama, 16, LoraTargets.All) * 4;
        Assert.Equal(2 * llama.Parameters + adapters, a[TrainingPlanner.Parameters]);
        Assert.Equal(InferencePlanner.WeightBytes(llama.Parameters, NumberFormat.Int8) + adapters, b[TrainingPlanner.Parameters]);
        Assert.Equal(a[TrainingPlanner.Gradients], b[TrainingPlanner.Gradients]);
    }

    [Fact]
    public void ActivationBytes_TinyCase_MatchesKorthikantiFormula()
    {
        var shape = new ModelShape { Layers = 3, HiddenSize = 4, AttentionHeads = 2, KeyValueHeads = 2, HeadSize = 2, VocabSize = 10, IntermediateSize = 16 };
        var setup = new TrainingSetup { SequenceLength = 2, MicroBatch = 1 };
        // Per layer: s·b·h·(34 + 5·a·s/h) = 2·1·4·(34 + 5) = 312; × 3 layers.
        Assert.Equal(936L, TrainingPlanner.ActivationBytes(shape, setup));
        // Checkpointing: 3 × 2·s·b·h = 48, plus one layer recomputed (312).
        Assert.Equal(360L, TrainingPlanner.ActivationBytes(shape, setup with { GradientCheckpointing = true }));
        // fp32 activations are twice as large.
        Assert.Equal(1872L, TrainingPlanner.ActivationBytes(shape, setup with { Precision = TrainingPrecision.Fp32 }));
    }

    [Fact]
    public void Estimate_FsdpOverFourDevices_DividesStateButNotActivations()
    {
        ModelShape llama = KnownShapes.Llama2_7B();
        var one = new TrainingSetup();
        MemoryBreakdown a = TrainingPlanner.Estimate(llama, one);
        MemoryBreakdown b = TrainingPlanner.Estimate(llama, one with { ShardDevices = 4 });
        Assert.Equal(a[TrainingPlanner.OptimizerStates] / 4, b[TrainingPlanner.OptimizerStates]);
        Assert.Equal(a[TrainingPlanner.Parameters] / 4, b[TrainingPlanner.Parameters]);
        Assert.Equal(a[TrainingPlanner.Activations], b[TrainingPlanner.Activations]);
    }

    [Fact]
    public void Estimate_CpuOffload_MovesGradientsAndOptimizerToHost()
    {
        ModelShape llama = KnownShapes.Llama2_7B();
        MemoryBreakdown b = TrainingPlanner.Estimate(llama, new TrainingSetup { CpuOffload = true });
        Assert.Equal(b[TrainingPlanner.Gradients] + b[TrainingPlanner.OptimizerStates], b.HostBytes);
        Assert.Equal(2 * llama.Parameters, b[TrainingPlanner.Parameters]);
        Assert.Contains("total (host)", b.ToMarkdownTable(), StringComparison.Ordinal);
    }

    [Fact]
    public void Estimate_QuantizedBaseWithoutLora_ThrowsNamingTheFix()
    {
        var ex = Assert.Throws<ArgumentException>(() => TrainingPlanner.Estimate(KnownShapes.Llama2_7B(), new TrainingSetup { FrozenBasePrecision = NumberFormat.Int4 }));
        Assert.Contains("LoraRank", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Estimate_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>("model", () => TrainingPlanner.Estimate(null!, new TrainingSetup()));
        Assert.Throws<ArgumentNullException>("setup", () => TrainingPlanner.Estimate(KnownShapes.Llama2_7B(), null!));
        Assert.Throws<ArgumentNullException>("model", () => InferencePlanner.Estimate(null!, new InferenceWorkload(1, 1)));
    }
}
