namespace LocalLlm;

/// <summary>What a model folder is: read from genai_config.json, the tokenizer files and the ONNX graph.</summary>
public sealed record ModelInfo
{
    /// <summary>The model folder, as a full path.</summary>
    public required string Folder { get; init; }

    /// <summary>A display id: the folder's name.</summary>
    public required string Id { get; init; }

    /// <summary>The model family from genai_config (<c>model.type</c>, e.g. <c>llama</c>, <c>qwen2</c>, <c>phi3</c>).</summary>
    public required string ModelType { get; init; }

    /// <summary>The execution provider the model was loaded on.</summary>
    public required ExecutionProvider Provider { get; init; }

    /// <summary>Why that provider was chosen.</summary>
    public required string ProviderReason { get; init; }

    /// <summary>Weight precision (from the ONNX graph).</summary>
    public required ModelPrecision Precision { get; init; }

    /// <summary>Element type of the KV cache (fp16 models keep fp16 caches).</summary>
    public required ModelPrecision KvCachePrecision { get; init; }

    /// <summary>Decoder layers.</summary>
    public required int Layers { get; init; }

    /// <summary>Attention (query) heads.</summary>
    public required int Heads { get; init; }

    /// <summary>Key/value heads (fewer than <see cref="Heads"/> with grouped-query attention).</summary>
    public required int KvHeads { get; init; }

    /// <summary>Size of one attention head.</summary>
    public required int HeadSize { get; init; }

    /// <summary>Hidden size.</summary>
    public required int HiddenSize { get; init; }

    /// <summary>Maximum sequence length (prompt + output) the model supports.</summary>
    public required int ContextLength { get; init; }

    /// <summary>The model's vocabulary size; every token id must be below it.</summary>
    public required int VocabSize { get; init; }

    /// <summary>True when the graph uses GroupQueryAttention with a shared past/present buffer.</summary>
    public required bool SharesKvBuffer { get; init; }

    /// <summary>End-of-sequence token ids from genai_config.</summary>
    public required IReadOnlyList<int> EosTokenIds { get; init; }

    /// <summary>Sizes in bytes of the folder's files, by file name.</summary>
    public required IReadOnlyDictionary<string, long> FileSizes { get; init; }

    /// <summary>genai_config.json has a <c>model.vision</c> section (a multimodal folder).</summary>
    internal bool HasVisionProcessor { get; init; }

    /// <summary>Total bytes of the model's weight files (.onnx and external data).</summary>
    public long WeightBytes => FileSizes.Where(f => f.Key.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)
        || f.Key.EndsWith(".onnx.data", StringComparison.OrdinalIgnoreCase)
        || f.Key.EndsWith(".data", StringComparison.OrdinalIgnoreCase)).Sum(f => f.Value);

    /// <summary>Bytes of KV cache one token occupies: 2 (K and V) × layers × KV heads × head size × element bytes.</summary>
    public long KvBytesPerToken => 2L * Layers * KvHeads * HeadSize * (KvCachePrecision == ModelPrecision.Fp32 ? 4 : 2);
}
