using LocalLlm.ModelForge;

namespace LocalLlm.Memory.Tests;

/// <summary>Image tokens and LoRA adapters in the inference plan; every expected number is worked out by hand below.</summary>
public sealed class ImagesAndAdaptersPlanTests
{
    [Fact]
    public void Estimate_ImageTokens_LengthenThePromptAndTheSequenceAndPrefillInOneStep()
    {
        var qwen = KnownShapes.Qwen25_05B(); // fp32: KV per token = 2 × 24 layers × 2 KV heads × 64 × 4 B = 24,576 B
        var workload = new InferenceWorkload(100, 200) { PrefillChunk = 32, Images = 1, ImageTokens = 2509 };

        var plan = InferencePlanner.Estimate(qwen, workload, RuntimeOverhead.None);

        Assert.Equal(24_576L * (200 + 2509), plan[InferencePlanner.KvCache]);
        // The whole 2,609-token prompt in one step (images go in with the first inputs), not 32 at a time:
        long logits = 2L * 2609 * 151_936 * 4, scores = 14L * 2609 * 2609 * 4, mlp = 2609L * 4864 * 4 * 2, hidden = 2609L * 896 * 4 * 4;
        Assert.Equal(logits + scores + mlp + hidden, plan[InferencePlanner.Activations]);
        Assert.Equal(17L * 3 * 336 * 336 * 4, plan[InferencePlanner.ImageInputs]); // 23,030,784 B of pixel values
        Assert.Equal(23_030_784L, InferencePlanner.Phi3VisionPixelBytes);
        Assert.Contains("prompt 2609 (2509 of them for 1 image(s))", plan.Title, StringComparison.Ordinal);
    }

    [Fact]
    public void Estimate_TwoSequencesWithTwoImagesEach_CountsPixelsPerSequence()
    {
        var qwen = KnownShapes.Qwen25_05B();
        var workload = new InferenceWorkload(10, 20, Concurrency: 2) { Images = 2, ImageTokens = 2 * 1621 };

        var plan = InferencePlanner.Estimate(qwen, workload, RuntimeOverhead.None);

        Assert.Equal(2L * 2 * 23_030_784, plan[InferencePlanner.ImageInputs]);
        Assert.Equal(24_576L * (20 + 3242) * 2, plan[InferencePlanner.KvCache]);
    }

    [Fact]
    public void Estimate_AdapterBytes_CountedOnceWhateverTheConcurrency()
    {
        var qwen = KnownShapes.Qwen25_05B();
        // Rank 16 on every query projection: (896 in + 14 × 64 out) × 16 × 24 layers = 688,128 parameters × 4 B.
        long adapter = InferencePlanner.LoraAdapterBytes(qwen, 16, LoraTargets.Query);
        Assert.Equal((896L + 896) * 16 * 24 * 4, adapter);
        Assert.Equal(2_752_512L, adapter);

        var one = InferencePlanner.Estimate(qwen, new InferenceWorkload(100, 200) { AdapterBytes = 3 * adapter }, RuntimeOverhead.None);
        var four = InferencePlanner.Estimate(qwen, new InferenceWorkload(100, 200, Concurrency: 4) { AdapterBytes = 3 * adapter }, RuntimeOverhead.None);
        var none = InferencePlanner.Estimate(qwen, new InferenceWorkload(100, 200), RuntimeOverhead.None);

        Assert.Equal(8_257_536L, one[InferencePlanner.Adapters]);
        Assert.Equal(8_257_536L, four[InferencePlanner.Adapters]);
        Assert.Equal(none.DeviceBytes + 8_257_536L, one.DeviceBytes);
    }

    [Fact]
    public void AdapterFileBytes_SumsTheFilesModelForgeWrote()
    {
        string folder = Directory.CreateTempSubdirectory("localllm-plan-").FullName;
        try
        {
            var forged = new ForgeOptions { Design = ModelDesign.Copy, Lag = 18, LoraRank = 1 };
            string a = Path.Combine(folder, "a.onnx_adapter"), b = Path.Combine(folder, "b.onnx_adapter");
            Forge.WriteCopyAdapter(forged, 16, a);
            Forge.WriteCopyAdapter(forged, 20, b);

            long bytes = InferencePlanner.AdapterFileBytes([a, b]);

            Assert.Equal(new FileInfo(a).Length + new FileInfo(b).Length, bytes);
            // Each file holds A [160, 1] and B [1, 256] in fp32 (1,664 B of tensors) plus the FlatBuffer header and names.
            Assert.InRange(bytes, 2 * 1664, 2 * (1664 + 1024));
            Assert.Throws<FileNotFoundException>(() => InferencePlanner.AdapterFileBytes([Path.Combine(folder, "missing.onnx_adapter")]));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData(64, 64, 2509)]   // 4 × 4 crops: (16 + 1) · 144 + 1 + 5 · 12
    [InlineData(100, 40, 1621)]  // 2 rows × 5 columns: (10 + 1) · 144 + 1 + 3 · 12
    [InlineData(40, 100, 1657)]  // 5 rows × 2 columns: (10 + 1) · 144 + 1 + 6 · 12
    public void ImageTokens_Phi3v_ByHand(int width, int height, int tokens)
    {
        Assert.Equal(tokens, InferencePlanner.ImageTokens("phi3v", width, height));
        Assert.Equal(VisionDesign.ImageTokens(width, height), tokens);
    }

    [Fact]
    public void ImageTokens_UnknownModelType_ThrowsNamingIt()
    {
        var e = Assert.Throws<ArgumentException>(() => InferencePlanner.ImageTokens("qwen2_5_vl", 64, 64));
        Assert.Contains("qwen2_5_vl", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new InferenceWorkload(10, 20) { Images = 1 }.Validate());
    }
}
