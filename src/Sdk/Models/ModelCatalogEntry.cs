namespace LocalLlm.Models;

/// <summary>
/// One published ONNX Runtime GenAI model: where it lives on a Hugging Face–style hub and the folder of each variant.
/// Bindable from configuration (<c>LocalLlm:Catalog:&lt;id&gt;</c>), so every property has a setter.
/// </summary>
public sealed class ModelCatalogEntry
{
    /// <summary>The short id users type (<c>phi-3.5-mini</c>); case-insensitive.</summary>
    /// <value>Filled from the configuration key when bound from <c>LocalLlm:Catalog</c>.</value>
    public string Id { get; set; } = "";

    /// <summary>The hub repository, <c>owner/name</c> (<c>microsoft/Phi-3.5-mini-instruct-onnx</c>).</summary>
    public string Repository { get; set; } = "";

    /// <summary>The branch, tag or commit to download.</summary>
    /// <value><c>main</c> by default.</value>
    public string Revision { get; set; } = "main";

    /// <summary>The licence of the weights as published (SPDX id or name); shown to users before they download.</summary>
    public string License { get; set; } = "";

    /// <summary>The model's maximum context length in tokens, as documented by its publisher.</summary>
    public int ContextLength { get; set; }

    /// <summary>A short human description (publisher, size, anything unverified).</summary>
    public string? Description { get; set; }

    /// <summary>The variants by name (<c>cpu-int4</c>, <c>cuda-int4</c>, <c>cuda-fp16</c>).</summary>
    public IDictionary<string, ModelVariant> Variants { get; set; } =
        new Dictionary<string, ModelVariant>(StringComparer.OrdinalIgnoreCase);
}

/// <summary>One downloadable folder of a model, built for one execution provider and precision.</summary>
public sealed class ModelVariant
{
    /// <summary>The variant name (<c>cpu-int4</c>); filled from the dictionary key when bound from configuration.</summary>
    public string Name { get; set; } = "";

    /// <summary>The execution provider the folder was built for: <c>cpu</c> or <c>cuda</c>.</summary>
    /// <value><c>cpu</c> by default.</value>
    public string ExecutionProvider { get; set; } = "cpu";

    /// <summary>The weight precision: <c>int4</c>, <c>int8</c>, <c>fp16</c> or <c>fp32</c>.</summary>
    /// <value><c>int4</c> by default.</value>
    public string Precision { get; set; } = "int4";

    /// <summary>The folder inside the repository (<c>cpu_and_mobile/cpu-int4-awq-block-128-acc-level-4</c>); empty for the root.</summary>
    public string Folder { get; set; } = "";

    /// <summary>Approximate total size in bytes as published; used to choose a variant that fits in memory.</summary>
    /// <value>0 when unknown (the variant is then assumed to fit).</value>
    public long ApproximateBytes { get; set; }

    /// <summary>The files that make up a complete folder, relative to <see cref="Folder"/>.</summary>
    public IList<ModelFile> Files { get; set; } = [];
}

/// <summary>One file of a model variant.</summary>
public sealed class ModelFile
{
    /// <summary>The path relative to the variant folder, with <c>/</c> separators (<c>tokenizer.json</c>).</summary>
    public string Path { get; set; } = "";

    /// <summary>The exact size in bytes, when known; otherwise the server's <c>X-Linked-Size</c>/<c>Content-Length</c> is used.</summary>
    public long? Size { get; set; }

    /// <summary>The lowercase hex SHA-256 of the content, when known; otherwise the hub's LFS ETag is used when it is one.</summary>
    public string? Sha256 { get; set; }

    /// <summary>Creates an empty file entry (for configuration binding).</summary>
    public ModelFile() { }

    /// <summary>Creates a file entry for <paramref name="path"/>.</summary>
    /// <param name="path">The path relative to the variant folder.</param>
    public ModelFile(string path) => Path = path;
}
