using System.ComponentModel.DataAnnotations;

namespace LocalLlm.Embeddings;

/// <summary>Options of a <see cref="LocalEmbeddingGenerator"/> (configuration section <c>LocalLlm:Embeddings</c>).</summary>
public sealed class LocalEmbeddingOptions
{
    /// <summary>The configuration section the options bind from.</summary>
    public const string SectionName = "LocalLlm:Embeddings";

    /// <summary>The model id of the encoder built into this package.</summary>
    public const string BuiltInModelId = "all-MiniLM-L6-v2";

    /// <summary>
    /// Gets or sets a folder holding <c>model.onnx</c> (a BERT-family encoder with inputs <c>input_ids</c>,
    /// <c>attention_mask</c> and optionally <c>token_type_ids</c>, and a token-embedding output) and its WordPiece
    /// <c>vocab.txt</c>.
    /// </summary>
    /// <value>Empty (the default) uses the built-in all-MiniLM-L6-v2.</value>
    public string ModelPath { get; set; } = "";

    /// <summary>Gets or sets the model id reported in metadata and on each embedding.</summary>
    /// <value>Empty: <see cref="BuiltInModelId"/> for the built-in model, else the folder name.</value>
    public string ModelId { get; set; } = "";

    /// <summary>
    /// Gets or sets the most tokens read per input, [CLS] and [SEP] included; longer inputs are cut at the end and
    /// marked (<see cref="LocalEmbeddingGenerator.TruncatedPropertyName"/>, log event 1602).
    /// </summary>
    /// <value>256, the length all-MiniLM-L6-v2 was trained for (its position table allows 512).</value>
    [Range(8, 8192)]
    public int MaxTokens { get; set; } = 256;

    /// <summary>Gets or sets how many inputs run through the model together (inputs of similar length are grouped).</summary>
    /// <value>32.</value>
    [Range(1, 1024)]
    public int BatchSize { get; set; } = 32;

    /// <summary>Gets or sets whether the text is lower-cased before WordPiece (true for uncased models such as MiniLM).</summary>
    /// <value><see langword="true"/>.</value>
    public bool LowerCase { get; set; } = true;

    /// <summary>Gets or sets the threads one model call may use.</summary>
    /// <value>0: ONNX Runtime's default (one per core).</value>
    [Range(0, 256)]
    public int IntraOpThreads { get; set; }
}
