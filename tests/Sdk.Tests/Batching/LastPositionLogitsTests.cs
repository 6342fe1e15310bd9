using LocalLlm.ModelForge;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace LocalLlm.Tests.Batching;

/// <summary>
/// The batching engine's decoder runs the LM head on the last position only: the rewritten graph must give exactly the
/// logits the folder's own graph gives at that position (the reference is the unmodified model.onnx in ONNX Runtime).
/// </summary>
public sealed class LastPositionLogitsTests
{
    public static TheoryData<WeightPrecision> Precisions => [WeightPrecision.Fp32, WeightPrecision.Fp16, WeightPrecision.Int4];

    [Theory]
    [MemberData(nameof(Precisions))]
    public void Rewrite_ForgedGqaDecoder_GivesTheLastPositionsLogitsOfTheOriginalGraph(WeightPrecision precision)
    {
        string folder = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Random, Precision = precision, Attention = AttentionKind.GroupQueryAttention });
        AssertSameLastLogits(folder, tokens: 37);
    }

    [Fact]
    public void Rewrite_ModelBuilderExport_GivesTheLastPositionsLogitsOfTheOriginalGraph()
    {
        // Exported by ORT GenAI's model builder (lm_head is a MatMul straight into the logits output).
        AssertSameLastLogits(ThirdPartyModelFixture.Folder, tokens: 21);
    }

    [Fact]
    public void Rewrite_GraphWhoseLogitsDoNotComeFromAProjection_IsLeftAlone()
    {
        string folder = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Random, Attention = AttentionKind.GroupQueryAttention });
        byte[] model = File.ReadAllBytes(Path.Combine(folder, "model.onnx"));
        Assert.Null(LastPositionLogits.Rewrite(model, "no_such_output"));
        Assert.Null(LastPositionLogits.Rewrite([0x0A, 0xFF, 0x01], "logits")); // cut short: not a model
    }

    [Fact]
    public void DecoderSession_ForgedGqaFolder_RunsTheLmHeadOnTheLastPositionOnly()
    {
        using var model = LocalModel.Load(ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Random, Attention = AttentionKind.GroupQueryAttention }));
        using var decoder = DecoderSession.Open(model.Info, slots: 2, slotLength: 256);
        Assert.True(decoder.LastPositionOnly);
    }

    private static void AssertSameLastLogits(string folder, int tokens)
    {
        string path = Path.Combine(folder, "model.onnx");
        byte[]? rewritten = LastPositionLogits.Rewrite(File.ReadAllBytes(path), "logits");
        Assert.NotNull(rewritten);

        using var original = new InferenceSession(path);
        using var options = new SessionOptions();
        options.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", folder);
        using var sliced = new InferenceSession(rewritten, options);

        float[] full = Run(original, tokens, out long[] fullShape);
        float[] last = Run(sliced, tokens, out long[] lastShape);
        Assert.Equal(tokens, fullShape[1]);
        Assert.Equal(1, lastShape[1]);
        int vocab = (int)fullShape[2];
        float[] expected = full[((tokens - 1) * vocab)..(tokens * vocab)];
        Assert.Equal(vocab, last.Length);
        for (int i = 0; i < vocab; i++) Assert.Equal(expected[i], last[i], 1e-4f);
    }

    /// <summary>One prompt of <paramref name="tokens"/> ids on an empty cache; returns the logits as float and their shape.</summary>
    private static float[] Run(InferenceSession session, int tokens, out long[] shape)
    {
        var inputs = new Dictionary<string, OrtValue>();
        try
        {
            foreach (var (name, meta) in session.InputMetadata)
            {
                inputs[name] = name switch
                {
                    "input_ids" => OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, tokens).Select(i => (long)(3 + (i * 7919 % 250))).ToArray(), [1, tokens]),
                    "attention_mask" => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, tokens).ToArray(), [1, tokens]),
                    "position_ids" => OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, tokens).Select(i => (long)i).ToArray(), [1, tokens]),
                    _ => meta.ElementDataType == TensorElementType.Float16
                        ? OrtValue.CreateTensorValueFromMemory(Array.Empty<Float16>(), [1, meta.Dimensions[1], 0, meta.Dimensions[3]])
                        : OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), [1, meta.Dimensions[1], 0, meta.Dimensions[3]]),
                };
            }
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, inputs, ["logits"]);
            var info = outputs[0].GetTensorTypeAndShape();
            shape = info.Shape;
            return info.ElementDataType == TensorElementType.Float16
                ? [.. outputs[0].GetTensorDataAsSpan<Float16>().ToArray().Select(h => (float)h)]
                : outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var v in inputs.Values) v.Dispose();
        }
    }
}
