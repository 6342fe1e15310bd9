using System.Globalization;
using System.Text.Json;

namespace LocalLlm.Memory;

/// <summary>
/// The shape of a decoder-only transformer (Llama, Qwen2, Phi-3 style: gated MLP, grouped-query attention)
/// and how its weights are stored. Everything the memory planner needs to size weights, KV cache and
/// activations.
/// </summary>
public sealed record ModelShape
{
    /// <summary>Gets the number of transformer layers.</summary>
    public required int Layers { get; init; }

    /// <summary>Gets the hidden (model) size.</summary>
    public required int HiddenSize { get; init; }

    /// <summary>Gets the number of query heads.</summary>
    public required int AttentionHeads { get; init; }

    /// <summary>Gets the number of key/value heads (equal to <see cref="AttentionHeads"/> without grouped-query attention).</summary>
    public required int KeyValueHeads { get; init; }

    /// <summary>Gets the size of one attention head.</summary>
    public required int HeadSize { get; init; }

    /// <summary>Gets the vocabulary size.</summary>
    public required int VocabSize { get; init; }

    /// <summary>Gets the MLP intermediate size.</summary>
    public required int IntermediateSize { get; init; }

    /// <summary>Gets the format of the linear-layer weights (attention and MLP projections).</summary>
    /// <value>Default <see cref="NumberFormat.Fp32"/>.</value>
    public NumberFormat Precision { get; init; } = NumberFormat.Fp32;

    /// <summary>Gets the format of the token embedding table (and of norms and biases).</summary>
    /// <value>Default: the compute format of <see cref="Precision"/> (fp32 for int8/int4, as ORT GenAI's CPU exports keep it).</value>
    public NumberFormat? EmbeddingPrecision { get; init; }

    /// <summary>Gets whether the output projection (lm_head) shares the embedding table; otherwise it is a separate matrix stored in <see cref="Precision"/>.</summary>
    /// <value>Default <see langword="false"/>.</value>
    public bool TiedEmbeddings { get; init; }

    /// <summary>Gets whether the MLP is gated (SwiGLU: gate, up and down projections); otherwise up and down only.</summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool GatedMlp { get; init; } = true;

    /// <summary>Gets whether the query, key and value projections have biases (Qwen2 does).</summary>
    /// <value>Default <see langword="false"/>.</value>
    public bool AttentionBias { get; init; }

    /// <summary>Gets the number of weights that share one quantization scale.</summary>
    /// <value>Default 32.</value>
    public int QuantizationBlockSize { get; init; } = 32;

    /// <summary>Gets the format of the quantization scales (fp32 on CPU exports, fp16 on GPU exports).</summary>
    /// <value>Default <see cref="NumberFormat.Fp32"/>.</value>
    public NumberFormat ScalePrecision { get; init; } = NumberFormat.Fp32;

    /// <summary>Gets whether quantized blocks also store a zero point (asymmetric quantization; 4 bits per block for int4, 8 for int8).</summary>
    /// <value>Default <see langword="false"/> (symmetric).</value>
    public bool QuantizationZeroPoints { get; init; }

    /// <summary>Gets the format of the KV cache.</summary>
    /// <value>Default: the compute format of <see cref="Precision"/>.</value>
    public NumberFormat? KvCachePrecision { get; init; }

    /// <summary>Gets the longest sequence the model supports (0 when unknown).</summary>
    public int ContextLength { get; init; }

    /// <summary>Gets the effective embedding format.</summary>
    public NumberFormat EffectiveEmbeddingPrecision => EmbeddingPrecision ?? Precision.ComputeFormat();

    /// <summary>Gets the effective KV cache format.</summary>
    public NumberFormat EffectiveKvCachePrecision => KvCachePrecision ?? Precision.ComputeFormat();

    /// <summary>Gets the parameters of the embedding table.</summary>
    public long EmbeddingParameters => (long)VocabSize * HiddenSize;

    /// <summary>Gets the parameters of the output projection (0 when tied).</summary>
    public long LmHeadParameters => TiedEmbeddings ? 0 : (long)VocabSize * HiddenSize;

    /// <summary>Gets the linear-layer (matrix) parameters of one layer: q, k, v, o and the MLP.</summary>
    public long LinearParametersPerLayer
    {
        get
        {
            long q = (long)HiddenSize * AttentionHeads * HeadSize;
            long kv = 2L * HiddenSize * KeyValueHeads * HeadSize;
            long o = (long)AttentionHeads * HeadSize * HiddenSize;
            long mlp = (GatedMlp ? 3L : 2L) * HiddenSize * IntermediateSize;
            return q + kv + o + mlp;
        }
    }

    /// <summary>Gets the small parameters of one layer: two norms and the optional attention biases.</summary>
    public long SmallParametersPerLayer =>
        2L * HiddenSize + (AttentionBias ? (long)(AttentionHeads + 2 * KeyValueHeads) * HeadSize : 0);

    /// <summary>Gets the total parameter count (embedding, layers, final norm, untied lm_head).</summary>
    public long Parameters =>
        EmbeddingParameters + LmHeadParameters + Layers * (LinearParametersPerLayer + SmallParametersPerLayer) + HiddenSize;

    /// <summary>Checks that every dimension is positive and the formats are consistent.</summary>
    /// <exception cref="ArgumentException">A dimension is not positive, or the KV heads do not divide the query heads.</exception>
    public void Validate()
    {
        Positive(Layers, nameof(Layers));
        Positive(HiddenSize, nameof(HiddenSize));
        Positive(AttentionHeads, nameof(AttentionHeads));
        Positive(KeyValueHeads, nameof(KeyValueHeads));
        Positive(HeadSize, nameof(HeadSize));
        Positive(VocabSize, nameof(VocabSize));
        Positive(IntermediateSize, nameof(IntermediateSize));
        Positive(QuantizationBlockSize, nameof(QuantizationBlockSize));
        if (AttentionHeads % KeyValueHeads != 0)
            throw new ArgumentException($"ModelShape.AttentionHeads ({AttentionHeads}) must be a multiple of KeyValueHeads ({KeyValueHeads}).");
        if (ScalePrecision.IsQuantized())
            throw new ArgumentException($"ModelShape.ScalePrecision must be a float format, not {ScalePrecision}.");
        if (EffectiveKvCachePrecision.IsQuantized())
            throw new ArgumentException($"ModelShape.KvCachePrecision must be a float format, not {EffectiveKvCachePrecision}.");

        static void Positive(int value, string name)
        {
            if (value <= 0)
                throw new ArgumentException($"ModelShape.{name} must be positive, not {value}.");
        }
    }

    /// <summary>
    /// Reads the shape from an ONNX Runtime GenAI model folder's genai_config.json. The config has no
    /// intermediate size and no precision, so both must be given.
    /// </summary>
    /// <param name="modelFolder">The folder holding genai_config.json.</param>
    /// <param name="intermediateSize">The MLP intermediate size.</param>
    /// <param name="precision">The format of the linear-layer weights.</param>
    /// <returns>The shape.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="modelFolder"/> is null.</exception>
    /// <exception cref="FileNotFoundException">The folder has no genai_config.json.</exception>
    /// <exception cref="InvalidDataException">A required field is missing.</exception>
    public static ModelShape FromGenAIConfig(string modelFolder, int intermediateSize, NumberFormat precision)
    {
        ArgumentNullException.ThrowIfNull(modelFolder);
        string path = Path.Combine(modelFolder, "genai_config.json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{modelFolder}' has no genai_config.json; pass an ONNX Runtime GenAI model folder.", path);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path));
        JsonElement model = doc.RootElement.GetProperty("model");
        JsonElement decoder = model.GetProperty("decoder");
        int heads = Int(decoder, "num_attention_heads");
        int headSize = Int(decoder, "head_size");
        return new ModelShape
        {
            Layers = Int(decoder, "num_hidden_layers"),
            HiddenSize = decoder.TryGetProperty("hidden_size", out JsonElement h) ? h.GetInt32() : heads * headSize,
            AttentionHeads = heads,
            KeyValueHeads = decoder.TryGetProperty("num_key_value_heads", out JsonElement kv) ? kv.GetInt32() : heads,
            HeadSize = headSize,
            VocabSize = Int(model, "vocab_size"),
            IntermediateSize = intermediateSize,
            ContextLength = model.TryGetProperty("context_length", out JsonElement c) ? c.GetInt32() : 0,
            Precision = precision,
        };

        int Int(JsonElement e, string name) => e.TryGetProperty(name, out JsonElement v)
            ? v.GetInt32()
            : throw new InvalidDataException($"{path} has no '{name}'.");
    }

    /// <summary>
    /// The shape of a loaded model, from the metadata <see cref="LocalModel"/> reads. The metadata has no MLP size,
    /// so it must be given (it sizes the MLP weights and activations).
    /// </summary>
    /// <param name="info">The model's metadata (<see cref="LocalModel.Info"/>).</param>
    /// <param name="intermediateSize">The MLP intermediate size (config.json <c>intermediate_size</c>).</param>
    /// <returns>The shape.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="info"/> is null.</exception>
    /// <exception cref="ArgumentException">The model's precision is unknown.</exception>
    public static ModelShape FromModelInfo(ModelInfo info, int intermediateSize)
    {
        ArgumentNullException.ThrowIfNull(info);
        return new ModelShape
        {
            Layers = info.Layers, HiddenSize = info.HiddenSize, AttentionHeads = info.Heads, KeyValueHeads = info.KvHeads,
            HeadSize = info.HeadSize, VocabSize = info.VocabSize, IntermediateSize = intermediateSize, ContextLength = info.ContextLength,
            Precision = ToFormat(info.Precision, "Precision"),
            KvCachePrecision = ToFormat(info.KvCachePrecision, "KvCachePrecision"),
        };

        static NumberFormat ToFormat(ModelPrecision p, string what) => p switch
        {
            ModelPrecision.Fp32 => NumberFormat.Fp32,
            ModelPrecision.Fp16 => NumberFormat.Fp16,
            ModelPrecision.Bf16 => NumberFormat.Bf16,
            ModelPrecision.Int8 => NumberFormat.Int8,
            ModelPrecision.Int4 => NumberFormat.Int4,
            _ => throw new ArgumentException($"ModelInfo.{what} is {p}: the planner needs a known precision; describe the model with a ModelShape instead."),
        };
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Layers} layers, hidden {HiddenSize}, {AttentionHeads}/{KeyValueHeads} heads × {HeadSize}, vocab {VocabSize}, MLP {IntermediateSize}, {Precision} ({Parameters / 1e6:0.0}M parameters)");
}
