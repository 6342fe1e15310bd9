namespace LocalLlm.Models;

/// <summary>
/// The published ONNX Runtime GenAI models the catalog knows out of the box. Every repository, folder and file
/// name below was read from the hub's file listings (see docs/models.md for the sources); sizes are the listed
/// sizes rounded, used only to choose a variant. Anything not read from a listing says so in its description.
/// </summary>
internal static class BuiltInModels
{
    // ORT GenAI's model builder writes these next to the ONNX files; tokenizer.json + tokenizer_config.json are what
    // the GenAI tokenizer reads, the others are kept because the publisher ships them in the same folder.
    private static readonly string[] s_llamaTokenizer = ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"];
    private static readonly string[] s_bpeTokenizer =
        ["added_tokens.json", "merges.txt", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.json"];

    // A model, then one variant a line: name, execution provider, precision, folder in the repository, approximate
    // bytes (0: unknown), the ONNX file's name without ".onnx" (its weights sit beside it in ".onnx.data"), tokenizer files.
    private static readonly ModelRow[] s_models =
    [
        new("phi-3.5-mini", "microsoft/Phi-3.5-mini-instruct-onnx", "MIT", 131_072,
            "Phi-3.5-mini-instruct (3.8B) by Microsoft, ONNX Runtime GenAI builds.",
        [
            new("cpu-int4", "cpu", "int4", "cpu_and_mobile/cpu-int4-awq-block-128-acc-level-4", 2_790_000_000, "phi-3.5-mini-instruct-cpu-int4-awq-block-128-acc-level-4", s_llamaTokenizer),
            new("cuda-int4", "cuda", "int4", "cuda/cuda-int4-awq-block-128", 2_310_000_000, "phi-3.5-mini-instruct-cuda-int4-awq-block-128", s_llamaTokenizer),
            new("cuda-fp16", "cuda", "fp16", "cuda/cuda-fp16", 7_670_000_000, "phi-3.5-mini-instruct-cuda-fp16", s_llamaTokenizer),
        ]),
        new("phi-4-mini", "microsoft/Phi-4-mini-instruct-onnx", "MIT", 131_072,
            "Phi-4-mini-instruct (3.8B) by Microsoft, ONNX Runtime GenAI builds.",
        [
            new("cpu-int4", "cpu", "int4", "cpu_and_mobile/cpu-int4-rtn-block-32-acc-level-4", 4_930_000_000, "model", s_bpeTokenizer),
            new("cuda-int4", "cuda", "int4", "gpu/gpu-int4-rtn-block-32", 3_440_000_000, "model", s_bpeTokenizer),
        ]),
        new("qwen2.5-0.5b", "amd/Qwen2.5-0.5B-Instruct-quantized_int4-float16-cpu-onnx",
            "Apache-2.0 (upstream Qwen2.5-0.5B-Instruct; the AMD repository states no licence of its own: unverified)", 32_768,
            "Qwen2.5-0.5B-Instruct, INT4 CPU build published by AMD (not by Qwen or Microsoft).",
        [
            new("cpu-int4", "cpu", "int4", "", 834_000_000, "model", s_bpeTokenizer),
        ]),
        new("llama-3.2-3b", "onnx-community/Llama-3.2-3B-Instruct-ONNX", "Llama 3.2 Community License (weights); MIT (conversion)", 131_072,
            "Llama-3.2-3B-Instruct by Meta, ONNX Runtime GenAI builds by the ONNX Runtime team.",
        [
            new("cpu-int4", "cpu", "int4", "cpu_and_mobile/cpu-int4-rtn-block-32-acc-level-4", 3_660_000_000, "model", s_llamaTokenizer),
            new("cuda-int4", "cuda", "int4", "cuda/cuda-int4-rtn-block-32", 2_640_000_000, "model", s_llamaTokenizer),
        ]),
        new("llama-3.2-1b", "onnx-community/Llama-3.2-1B-Instruct-ONNX", "Llama 3.2 Community License (weights); MIT (conversion)", 131_072,
            "Llama-3.2-1B-Instruct by Meta. Folders verified; file names assumed from the 3B sibling " +
            "repository (same publisher and upload) and sizes unknown: unverified.",
        [
            new("cpu-int4", "cpu", "int4", "cpu_and_mobile/cpu-int4-rtn-block-32-acc-level-4", 0, "model", s_llamaTokenizer),
            new("cuda-int4", "cuda", "int4", "cuda/cuda-int4-rtn-block-32", 0, "model", s_llamaTokenizer),
            new("cuda-fp16", "cuda", "fp16", "cuda/cuda-fp16", 0, "model", s_llamaTokenizer),
        ]),
    ];

    /// <summary>Fresh entries on every call: callers (configuration binding) may change them.</summary>
    public static IEnumerable<ModelCatalogEntry> All() => s_models.Select(m => m.ToEntry());

    private sealed record ModelRow(string Id, string Repository, string License, int ContextLength, string Description, VariantRow[] Variants)
    {
        public ModelCatalogEntry ToEntry() => new()
        {
            Id = Id,
            Repository = Repository,
            License = License,
            ContextLength = ContextLength,
            Description = Description,
            Variants = Variants.Select(v => v.ToVariant()).ToDictionary(v => v.Name, StringComparer.OrdinalIgnoreCase),
        };
    }

    private sealed record VariantRow(string Name, string Provider, string Precision, string Folder, long Bytes, string Onnx, string[] Tokenizer)
    {
        public ModelVariant ToVariant() => new()
        {
            Name = Name,
            ExecutionProvider = Provider,
            Precision = Precision,
            Folder = Folder,
            ApproximateBytes = Bytes,
            Files = [.. new[] { "genai_config.json", Onnx + ".onnx", Onnx + ".onnx.data" }.Concat(Tokenizer).Select(f => new ModelFile(f))],
        };
    }
}
