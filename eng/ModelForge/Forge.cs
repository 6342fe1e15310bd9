using LocalLlm.ModelForge.Onnx;
using LocalLlm.ModelForge.Tokenization;

namespace LocalLlm.ModelForge;

/// <summary>Writes complete ONNX Runtime GenAI model folders.</summary>
public static class Forge
{
    /// <summary>The files every forged folder contains (plus model.onnx.data when a tensor is over 1 KB).</summary>
    public static IReadOnlyList<string> FileNames { get; } =
        ["model.onnx", "genai_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

    /// <summary>
    /// Writes model.onnx (+ model.onnx.data), genai_config.json, tokenizer.json, tokenizer_config.json and
    /// special_tokens_map.json into <paramref name="outputDirectory"/> (created if missing; these files are
    /// overwritten). The same options always produce byte-identical files.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">An option is invalid (the message names it) or the path is empty.</exception>
    public static void Write(ForgeOptions options, string outputDirectory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        options.Validate();
        Directory.CreateDirectory(outputDirectory);
        string modelPath = Path.Combine(outputDirectory, "model.onnx");
        File.Delete(modelPath + ".data"); // a stale data file from a bigger model must not survive

        if (options.Design == ModelDesign.Vision)
        {
            VisionModel.Write(options, outputDirectory);
            return;
        }
        var (spec, weights) = options.Design == ModelDesign.Random
            ? RandomModel.Create(options)
            : DesignedModel.Create(options);
        DecoderGraph.Write(spec, weights, modelPath);
        GenAiConfig.Write(Path.Combine(outputDirectory, "genai_config.json"), spec);
        TokenizerFiles.Write(outputDirectory, spec.Vocab, spec.Context);
    }

    /// <summary>
    /// Writes an ONNX Runtime LoRA adapter (<c>.onnx_adapter</c>) for the copy-design folder forged with
    /// <paramref name="options"/> (which must set <see cref="ForgeOptions.LoraRank"/>): with the adapter active, the
    /// model copies the token <paramref name="lag"/> positions back instead of <see cref="ForgeOptions.Lag"/>.
    /// The rank-1 update adds the difference of the two lags' query rows on the constant dimension, which every
    /// hidden state holds at exactly 1.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The options have no LoRA inputs, or the lag is out of range.</exception>
    public static void WriteCopyAdapter(ForgeOptions options, int lag, string path)
    {
        var spec = AdapterSpec(options, ModelDesign.Copy, path);
        int context = options.EffectiveContextLength;
        if (lag < 1 || lag >= context)
            throw new ArgumentOutOfRangeException(nameof(lag), lag, $"The adapter's lag must be between 1 and {context - 1}.");
        float[] from = DesignedModel.QueryRow(options.Lag, context);
        float[] to = DesignedModel.QueryRow(lag, context);
        var a = new float[spec.Hidden * spec.LoraRank];
        a[DesignedModel.ConstDim * spec.LoraRank] = 1f; // A[const, 0] = 1: x·A is 1 in column 0 for every token
        var b = new float[spec.LoraRank * from.Length];
        for (int c = 0; c < from.Length; c++)
            b[c] = to[c] - from[c]; // B[0, :] = the change of the query row
        WriteAdapter(spec, _ => (a, b), path);
    }

    /// <summary>
    /// Writes an adapter with seeded uniform values (A and B ±0.05) for a random-design folder forged with
    /// <see cref="ForgeOptions.LoraRank"/>: the output changes in no designed way; it measures what an adapter costs.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The options are not the random design with LoRA inputs.</exception>
    public static void WriteRandomAdapter(ForgeOptions options, int seed, string path)
    {
        var spec = AdapterSpec(options, ModelDesign.Random, path);
        int q = spec.Heads * spec.HeadSize;
        WriteAdapter(spec, layer => (Values(spec.Hidden, spec.LoraRank, $"lora_A.{layer}", 0.05f), Values(spec.LoraRank, q, $"lora_B.{layer}", 0.05f)), path);

        float[] Values(int rows, int cols, string id, float amplitude)
        {
            var matrix = new RandomMatrix(rows, cols, (ulong)seed, id, amplitude);
            var values = new float[rows * cols];
            for (int k = 0; k < rows; k++) matrix.FillRow(k, values.AsSpan(k * cols, cols));
            return values;
        }
    }

    private static DecoderSpec AdapterSpec(ForgeOptions options, ModelDesign design, string path)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options.Validate();
        if (options.Design != design || options.LoraRank == 0)
            throw new ArgumentException($"This adapter needs a {design.ToString().ToLowerInvariant()}-design folder with LoRA inputs: set ForgeOptions.Design = {design} and LoraRank ≥ 1.", nameof(options));
        return design == ModelDesign.Random ? RandomModel.Create(options).Spec : DesignedModel.Create(options).Spec;
    }

    /// <summary>One A [hidden, rank] and B [rank, heads·head] per layer's query projection, in the folder's I/O type.</summary>
    private static void WriteAdapter(DecoderSpec spec, Func<int, (float[] A, float[] B)> values, string path)
    {
        var parameters = new List<AdapterParameter>();
        for (int layer = 0; layer < spec.Layers; layer++)
        {
            string projection = $"model.layers.{layer}.attn.q_proj";
            var (a, b) = values(layer);
            parameters.Add(Parameter(LoraNames.A(projection), [spec.Hidden, spec.LoraRank], a, spec.IoType));
            parameters.Add(Parameter(LoraNames.B(projection), [spec.LoraRank, spec.Heads * spec.HeadSize], b, spec.IoType));
        }
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        File.WriteAllBytes(path, AdapterFile.Build(parameters));
    }

    private static AdapterParameter Parameter(string name, long[] dims, float[] values, ElemType type)
    {
        int size = type == ElemType.Float16 ? 2 : 4;
        var bytes = new byte[values.Length * size];
        for (int i = 0; i < values.Length; i++)
        {
            if (type == ElemType.Float16) System.Buffers.Binary.BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)values[i]);
            else System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }
        return new AdapterParameter(name, dims, type, bytes);
    }
}
