using LocalLlm.Memory;

namespace LocalLlm.Memory.Tests;

public sealed class InferencePlannerTests
{
    // The seed: a 6B-parameter model needs 24 GB in fp32, 12 GB in fp16 and 6 GB in int8 (weights alone).
    [Theory]
    [InlineData(NumberFormat.Fp32, 24_000_000_000L)]
    [InlineData(NumberFormat.Fp16, 12_000_000_000L)]
    [InlineData(NumberFormat.Bf16, 12_000_000_000L)]
    [InlineData(NumberFormat.Int8, 6_000_000_000L)]
    [InlineData(NumberFormat.Int4, 3_000_000_000L)]
    public void WeightBytes_SixBillionWithoutScales_MatchesSeed(NumberFormat format, long expected)
    {
        Assert.Equal(expected, InferencePlanner.WeightBytes(6_000_000_000L, format, scaleFormat: null));
    }

    [Fact]
    public void WeightBytes_Int8WithFp32ScalePerBlockOf32_AddsOneEighthByte()
    {
        // 6e9 / 32 blocks × 4 B = 0.75e9 B on top of 6e9 B.
        Assert.Equal(6_750_000_000L, InferencePlanner.WeightBytes(6_000_000_000L, NumberFormat.Int8));
    }

    [Fact]
    public void WeightBytes_Int4WithFp16ScalesAndZeroPoints_AddsScaleAndHalfByteZeroPoint()
    {
        // 3e9 B of nibbles + 187.5e6 blocks × (2 B scale + 0.5 B zero point).
        Assert.Equal(3_468_750_000L, InferencePlanner.WeightBytes(6_000_000_000L, NumberFormat.Int4, 32, NumberFormat.Fp16, zeroPoints: true));
    }

    [Fact]
    public void WeightBytes_FloatFormat_IgnoresScales()
    {
        Assert.Equal(400L, InferencePlanner.WeightBytes(100, NumberFormat.Fp32, 32, NumberFormat.Fp32, zeroPoints: true));
    }

    [Fact]
    public void WeightBytes_NegativeParameters_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>("parameters", () => InferencePlanner.WeightBytes(-1, NumberFormat.Fp32));
    }

    [Fact]
    public void Parameters_PublishedShapes_MatchPublishedCounts()
    {
        // Qwen2.5-0.5B is published as 0.49B parameters, Llama-3.2-1B as 1.24B, Llama-2-7B as 6.74B.
        Assert.Equal(494_032_768L, KnownShapes.Qwen25_05B().Parameters);
        Assert.Equal(1_235_814_400L, KnownShapes.Llama32_1B().Parameters);
        Assert.Equal(6_738_415_616L, KnownShapes.Llama2_7B().Parameters);
    }

    [Fact]
    public void ModelWeightBytes_TinyInt4Shape_MatchesHandComputation()
    {
        var shape = new ModelShape
        {
            Layers = 1, HiddenSize = 64, AttentionHeads = 2, KeyValueHeads = 1, HeadSize = 32,
            VocabSize = 100, IntermediateSize = 128, Precision = NumberFormat.Int4,
        };
        // Matrices: q 4096 + k,v 4096 + o 4096 + MLP 24576 + lm_head 6400 = 43264 nibbles = 21632 B,
        // 1352 blocks × 4 B scales = 5408 B. Embedding 6400 + norms 192 = 6592 fp32 = 26368 B.
        Assert.Equal(21_632L + 5_408L + 26_368L, InferencePlanner.ModelWeightBytes(shape));
    }

    [Fact]
    public void KvCacheBytes_Qwen05BFp32At4096Tokens_Is96MiB()
    {
        // 2 × 24 layers × 2 KV heads × 64 × 4 B = 24576 B per token.
        ModelShape qwen = KnownShapes.Qwen25_05B();
        Assert.Equal(24_576L, InferencePlanner.KvCacheBytesPerToken(qwen));
        Assert.Equal(96L * 1024 * 1024, InferencePlanner.KvCacheBytes(qwen, 4096));
    }

    [Fact]
    public void KvCacheBytes_GrowsLinearlyInTokensAndBatch()
    {
        ModelShape llama = KnownShapes.Llama32_1B(NumberFormat.Fp16);
        Assert.Equal(32_768L, InferencePlanner.KvCacheBytesPerToken(llama)); // 2 × 16 × 8 × 64 × 2 B
        Assert.Equal(2 * InferencePlanner.KvCacheBytes(llama, 1000), InferencePlanner.KvCacheBytes(llama, 2000));
        Assert.Equal(4 * InferencePlanner.KvCacheBytes(llama, 1000), InferencePlanner.KvCacheBytes(llama, 1000, batch: 4));
    }

    [Fact]
    public void KvCacheBytes_Int4Model_UsesFp32Cache()
    {
        Assert.Equal(InferencePlanner.KvCacheBytesPerToken(KnownShapes.Qwen25_05B(NumberFormat.Fp32)),
            InferencePlanner.KvCacheBytesPerToken(KnownShapes.Qwen25_05B(NumberFormat.Int4)));
        Assert.Equal(InferencePlanner.KvCacheBytesPerToken(KnownShapes.Qwen25_05B(NumberFormat.Fp32)) / 2,
            InferencePlanner.KvCacheBytesPerToken(KnownShapes.Qwen25_05B(NumberFormat.Fp16)));
    }

    [Fact]
    public void PrefillActivationBytes_TinyShape_MatchesHandComputation()
    {
        var shape = new ModelShape
        {
            Layers = 1, HiddenSize = 8, AttentionHeads = 2, KeyValueHeads = 2, HeadSize = 4,
            VocabSize = 10, IntermediateSize = 16,
        };
        // 3 tokens, fp32: logits 2×3×10×4 = 240, scores 2×3×3×4 = 72, MLP 3×16×4×2 = 384, hidden 3×8×4×4 = 384.
        Assert.Equal(1080L, InferencePlanner.PrefillActivationBytes(shape, 3));
    }

    [Fact]
    public void PrefillActivationBytes_Chunked_SizesOneStepAttendingToTheWholePrompt()
    {
        var shape = new ModelShape
        {
            Layers = 1, HiddenSize = 8, AttentionHeads = 2, KeyValueHeads = 2, HeadSize = 4,
            VocabSize = 10, IntermediateSize = 16,
        };
        // 6 tokens in chunks of 2, fp32: logits 2×2×10×4 = 160, scores 2×2×6×4 = 96, MLP 2×16×4×2 = 256, hidden 2×8×4×4 = 256.
        Assert.Equal(768L, InferencePlanner.PrefillActivationBytes(shape, 6, chunkTokens: 2));
        // A chunk at least as long as the prompt is one step.
        Assert.Equal(InferencePlanner.PrefillActivationBytes(shape, 3), InferencePlanner.PrefillActivationBytes(shape, 3, chunkTokens: 256));
    }

    [Fact]
    public void Estimate_LocalLlmPrefillChunk_BoundsTheLogitsOfALongPrompt()
    {
        ModelShape qwen = KnownShapes.Qwen25_05B(NumberFormat.Int4);
        MemoryBreakdown oneCall = InferencePlanner.Estimate(qwen, new InferenceWorkload(2048, 2064));
        MemoryBreakdown chunked = InferencePlanner.Estimate(qwen, new InferenceWorkload(2048, 2064) { PrefillChunk = InferenceWorkload.LocalLlmPrefillChunk });

        // One call: logits for 2,048 positions (2 × 2048 × 151,936 × 4 B = 2.3 GiB); chunks: for one chunk's positions.
        const long chunkLogits = 2L * InferenceWorkload.LocalLlmPrefillChunk * 151936 * 4;
        Assert.True(oneCall[InferencePlanner.Activations] > 2L * 2048 * 151936 * 4);
        Assert.InRange(chunked[InferencePlanner.Activations], chunkLogits, chunkLogits * 6 / 5);
        Assert.Equal(oneCall[InferencePlanner.KvCache], chunked[InferencePlanner.KvCache]);
        Assert.Throws<ArgumentException>(() => InferencePlanner.Estimate(qwen, new InferenceWorkload(16, 32) { PrefillChunk = -1 }));
    }

    [Fact]
    public void Estimate_KvCacheDominatesWeightsAtLongContextOnlyForLargeBatches()
    {
        ModelShape llama = KnownShapes.Llama32_1B(NumberFormat.Int4);
        MemoryBreakdown shortContext = InferencePlanner.Estimate(llama, new InferenceWorkload(128, 256));
        MemoryBreakdown longContext = InferencePlanner.Estimate(llama, new InferenceWorkload(128, 131_072));

        Assert.True(shortContext[InferencePlanner.KvCache] < shortContext[InferencePlanner.Weights] / 10);
        Assert.True(longContext[InferencePlanner.KvCache] > longContext[InferencePlanner.Weights]);
        Assert.Equal(longContext.Components.Sum(c => c.Bytes), longContext.DeviceBytes);
        Assert.Equal(0, longContext.HostBytes);
    }

    [Fact]
    public void Estimate_RuntimeOverhead_AddsFixedBytesAndScalesWeights()
    {
        ModelShape qwen = KnownShapes.Qwen25_05B(NumberFormat.Fp16);
        var workload = new InferenceWorkload(16, 32);
        MemoryBreakdown bare = InferencePlanner.Estimate(qwen, workload, RuntimeOverhead.None);
        MemoryBreakdown doubled = InferencePlanner.Estimate(qwen, workload, new RuntimeOverhead(1000, 2.0, EmbeddingResidentFraction: 0.5, Fp32LmHeadCopy: true));

        // Without overhead every weight is resident once: matrices + the whole embedding table = the stored weights.
        Assert.Equal(InferencePlanner.ModelWeightBytes(qwen), bare[InferencePlanner.Weights] + bare[InferencePlanner.Embedding]);
        Assert.Equal(151936L * 896 * 2, bare[InferencePlanner.Embedding]);
        Assert.Equal(2 * bare[InferencePlanner.Weights], doubled[InferencePlanner.Weights]);
        Assert.Equal(bare[InferencePlanner.Embedding] / 2, doubled[InferencePlanner.Embedding]);
        Assert.Equal(bare[InferencePlanner.Activations] + (151936L * 896 * 4), doubled[InferencePlanner.Activations]);
        Assert.Equal(1000L, doubled[InferencePlanner.Runtime]);
        Assert.Equal(0L, bare[InferencePlanner.Runtime]);
    }

    [Fact]
    public void Estimate_Fp32ShortPrompt_PeakIsTheLoadTimeLmHeadMapping()
    {
        ModelShape qwen = KnownShapes.Qwen25_05B(NumberFormat.Fp32) with { TiedEmbeddings = false };
        MemoryBreakdown b = InferencePlanner.Estimate(qwen, new InferenceWorkload(128, 160));

        // The untied fp32 lm_head is 151,936 × 896 × 4 B on disk; while the session loads it is resident twice (mapped
        // file pages + its packed copy), before any KV cache or activation exists: only the excess over those is added.
        long lmHead = 151936L * 896 * 4;
        Assert.Equal(lmHead, InferencePlanner.LmHeadStoredBytes(qwen));
        Assert.Equal(lmHead - b[InferencePlanner.KvCache] - b[InferencePlanner.Activations], b[InferencePlanner.LoadTransient]);
        Assert.Equal(b[InferencePlanner.Weights] + lmHead + b[InferencePlanner.Runtime], b.DeviceBytes);
    }

    [Fact]
    public void Estimate_LongPrompt_RunPeakExceedsLoadPeak_AddsNoLoadTransient()
    {
        ModelShape qwen = KnownShapes.Qwen25_05B(NumberFormat.Fp32);
        MemoryBreakdown b = InferencePlanner.Estimate(qwen, new InferenceWorkload(1024, 1024));

        Assert.True(b[InferencePlanner.Activations] > InferencePlanner.LmHeadStoredBytes(qwen));
        Assert.Equal(0L, b[InferencePlanner.LoadTransient]);
        Assert.Equal(0L, InferencePlanner.Estimate(qwen, new InferenceWorkload(128, 160), RuntimeOverhead.None)[InferencePlanner.LoadTransient]);
    }

    [Fact]
    public void LmHeadStoredBytes_Int4AndTied_CountScalesOrTheEmbeddingTable()
    {
        // int4: 0.5 B per weight + one fp32 scale per block of 32.
        long parameters = 151936L * 896;
        Assert.Equal((parameters / 2) + (parameters / 32 * 4), InferencePlanner.LmHeadStoredBytes(KnownShapes.Qwen25_05B(NumberFormat.Int4) with { TiedEmbeddings = false }));
        // Tied: the output projection is the embedding table, stored unquantized in the compute format (fp32 for int4).
        Assert.Equal(parameters * 4, InferencePlanner.LmHeadStoredBytes(KnownShapes.Qwen25_05B(NumberFormat.Int4) with { TiedEmbeddings = true }));
    }

    [Fact]
    public void ForCpu_Fp16_KeepsFp32CopiesAndInt4RepacksOnlyAtAccuracyLevel4()
    {
        Assert.Equal(2.0, RuntimeOverhead.ForCpu(NumberFormat.Fp16).WeightFactor);
        Assert.True(RuntimeOverhead.ForCpu(NumberFormat.Fp16).Fp32LmHeadCopy);
        Assert.True(RuntimeOverhead.ForCpu(NumberFormat.Int4, 4).WeightFactor > RuntimeOverhead.ForCpu(NumberFormat.Int4, 0).WeightFactor);
        Assert.Equal(0, RuntimeOverhead.ForCpu(NumberFormat.Fp32).EmbeddingResidentFraction);
        Assert.True(RuntimeOverhead.ForCpu(NumberFormat.Fp32).LmHeadLoadTransient);
    }

    [Fact]
    public void Estimate_PromptLongerThanMaxLength_ThrowsNamingTheFix()
    {
        var ex = Assert.Throws<ArgumentException>(() => InferencePlanner.Estimate(KnownShapes.Qwen25_05B(), new InferenceWorkload(100, 50)));
        Assert.Contains("raise MaxLength", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Estimate_BadShape_ThrowsNamingTheField()
    {
        ModelShape bad = KnownShapes.Qwen25_05B() with { KeyValueHeads = 3 };
        var ex = Assert.Throws<ArgumentException>(() => InferencePlanner.Estimate(bad, new InferenceWorkload(1, 1)));
        Assert.Contains("KeyValueHeads", ex.Message, StringComparison.Ordinal);

        ModelShape zero = KnownShapes.Qwen25_05B() with { Layers = 0 };
        Assert.Contains("Layers", Assert.Throws<ArgumentException>(() => InferencePlanner.Estimate(zero, new InferenceWorkload(1, 1))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Recommend_Budget_ReturnsLargestFittingLengthAndConcurrency()
    {
        ModelShape qwen = KnownShapes.Qwen25_05B(NumberFormat.Int4);
        long budget = 4L * 1024 * 1024 * 1024;
        InferenceRecommendation r = InferencePlanner.Recommend(qwen, budget, maxLength: 2048, concurrency: 2);

        Assert.InRange(r.MaxLength, 1, qwen.ContextLength);
        Assert.True(InferencePlanner.Estimate(qwen, new InferenceWorkload(r.MaxLength, r.MaxLength, 2)).DeviceBytes <= budget);
        Assert.True(InferencePlanner.Estimate(qwen, new InferenceWorkload(r.MaxLength + 1, r.MaxLength + 1, 2)).DeviceBytes > budget);
        Assert.True(r.MaxConcurrency >= 1);
        Assert.True(InferencePlanner.Estimate(qwen, new InferenceWorkload(2048, 2048, r.MaxConcurrency)).DeviceBytes <= budget);
        Assert.True(InferencePlanner.Estimate(qwen, new InferenceWorkload(2048, 2048, r.MaxConcurrency + 1)).DeviceBytes > budget);
    }

    [Fact]
    public void Recommend_ChunkedPrefill_FitsLongerContextsInTheSameBudget()
    {
        ModelShape qwen = KnownShapes.Qwen25_05B(NumberFormat.Int4);
        long budget = 1024L * 1024 * 1024; // chunked, the longest fitting length stays under the 32,768-token context
        const int chunk = InferenceWorkload.LocalLlmPrefillChunk;
        InferenceRecommendation oneStep = InferencePlanner.Recommend(qwen, budget, maxLength: 4096);
        InferenceRecommendation chunked = InferencePlanner.Recommend(qwen, budget, maxLength: 4096, prefillChunk: chunk);

        // One step holds logits for the whole prompt (2.3 GiB at 2,048 tokens); chunks hold 256 positions' worth.
        Assert.True(chunked.MaxLength > 4 * oneStep.MaxLength, $"chunked {chunked.MaxLength} vs one step {oneStep.MaxLength}");
        Assert.True(chunked.MaxLength < qwen.ContextLength);
        Assert.True(chunked.MaxConcurrency > oneStep.MaxConcurrency, $"chunked {chunked.MaxConcurrency} vs one step {oneStep.MaxConcurrency}");
        var fits = new InferenceWorkload(chunked.MaxLength, chunked.MaxLength) { PrefillChunk = chunk };
        Assert.True(InferencePlanner.Estimate(qwen, fits).DeviceBytes <= budget);
        Assert.True(InferencePlanner.Estimate(qwen, fits with { PromptTokens = chunked.MaxLength + 1, MaxLength = chunked.MaxLength + 1 }).DeviceBytes > budget);
        Assert.Throws<ArgumentOutOfRangeException>("prefillChunk", () => InferencePlanner.Recommend(qwen, budget, 4096, prefillChunk: -1));
    }

    [Fact]
    public void Recommend_BudgetBelowWeights_ReturnsZeros()
    {
        InferenceRecommendation r = InferencePlanner.Recommend(KnownShapes.Llama32_1B(), 100L * 1024 * 1024, 512);
        Assert.Equal(0, r.MaxLength);
        Assert.Equal(0, r.MaxConcurrency);
    }

    [Fact]
    public void FromGenAIConfig_ThirdPartyFolder_ReadsShape()
    {
        ModelShape shape = ModelShape.FromGenAIConfig(RepoPaths.SharedModel("tiny-random-llama-fp16"), 64, NumberFormat.Fp16);
        Assert.Equal(2, shape.Layers);
        Assert.Equal(16, shape.HiddenSize);
        Assert.Equal(1, shape.AttentionHeads);
        Assert.Equal(1, shape.KeyValueHeads);
        Assert.Equal(16, shape.HeadSize);
        Assert.Equal(32000, shape.VocabSize);
        Assert.Equal(2048, shape.ContextLength);
    }

    [Fact]
    public void FromGenAIConfig_FolderWithoutConfig_ThrowsFileNotFound()
    {
        using var dir = new TempDirectory();
        var ex = Assert.Throws<FileNotFoundException>(() => ModelShape.FromGenAIConfig(dir.Path, 64, NumberFormat.Fp32));
        Assert.Contains("genai_config.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToMarkdownTable_ListsEveryComponentAndTotal()
    {
        MemoryBreakdown b = InferencePlanner.Estimate(KnownShapes.Qwen25_05B(NumberFormat.Int4), new InferenceWorkload(128, 256));
        string table = b.ToMarkdownTable();
        foreach (MemoryComponent c in b.Components)
            Assert.Contains($"| {c.Name} |", table, StringComparison.Ordinal);
        Assert.Contains(MemoryBreakdown.FormatBytes(b.DeviceBytes), table, StringComparison.Ordinal);
        Assert.Equal("1.50 GiB", MemoryBreakdown.FormatBytes(1536L * 1024 * 1024));
        Assert.Equal("512 B", MemoryBreakdown.FormatBytes(512));
    }
}

public sealed class ModelShapeFromModelInfoTests
{
    [Fact]
    public void FromModelInfo_ForgedInt4Model_MatchesMetadataAndKvBytes()
    {
        string folder = LocalLlm.ModelForge.ForgedModels.GetOrCreate(new LocalLlm.ModelForge.ForgeOptions
        {
            Design = LocalLlm.ModelForge.ModelDesign.Random,
            Precision = LocalLlm.ModelForge.WeightPrecision.Int4,
            Attention = LocalLlm.ModelForge.AttentionKind.GroupQueryAttention,
        });
        using LocalModel model = LocalModel.Load(folder);
        ModelShape shape = ModelShape.FromModelInfo(model.Info, intermediateSize: 128);

        Assert.Equal(NumberFormat.Int4, shape.Precision);
        Assert.Equal(model.Info.Layers, shape.Layers);
        Assert.Equal(model.Info.KvHeads, shape.KeyValueHeads);
        Assert.Equal(model.Info.KvBytesPerToken, InferencePlanner.KvCacheBytesPerToken(shape));
        Assert.Throws<ArgumentNullException>("info", () => ModelShape.FromModelInfo(null!, 128));
        Assert.Contains("Unknown", Assert.Throws<ArgumentException>(() => ModelShape.FromModelInfo(model.Info with { Precision = ModelPrecision.Unknown }, 128)).Message, StringComparison.Ordinal);
    }
}
