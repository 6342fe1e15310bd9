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

    public static IEnumerable<ModelCatalogEntry> All()
    {
        yield return new ModelCatalogEntry
        {
            Id = "phi-3.5-mini",
            Repository = "microsoft/Phi-3.5-mini-instruct-onnx",
            License = "MIT",
            ContextLength = 131_072,
            Description = "Phi-3.5-mini-instruct (3.8B) by Microsoft, ONNX Runtime GenAI builds.",
            Variants = Variants(
                Variant("cpu-int4", "cpu", "int4", "cpu_and_mobile/cpu-int4-awq-block-128-acc-level-4", 2_790_000_000,
                    ["genai_config.json", "phi-3.5-mini-instruct-cpu-int4-awq-block-128-acc-level-4.onnx",
                     "phi-3.5-mini-instruct-cpu-int4-awq-block-128-acc-level-4.onnx.data", .. s_llamaTokenizer]),
                Variant("cuda-int4", "cuda", "int4", "cuda/cuda-int4-awq-block-128", 2_310_000_000,
                    ["genai_config.json", "phi-3.5-mini-instruct-cuda-int4-awq-block-128.onnx",
                     "phi-3.5-mini-instruct-cuda-int4-awq-block-128.onnx.data", .. s_llamaTokenizer]),
                Variant("cuda-fp16", "cuda", "fp16", "cuda/cuda-fp16", 7_670_000_000,
                    ["genai_config.json", "phi-3.5-mini-instruct-cuda-fp16.onnx",
                     "phi-3.5-mini-instruct-cuda-fp16.onnx.data", .. s_llamaTokenizer])),
        };
        yield return new ModelCatalogEntry
        {
            Id = "phi-4-mini",
            Repository = "microsoft/Phi-4-mini-instruct-onnx",
            License = "MIT",
            ContextLength = 131_072,
            Description = "Phi-4-mini-instruct (3.8B) by Microsoft, ONNX Runtime GenAI builds.",
            Variants = Variants(
                Variant("cpu-int4", "cpu", "int4", "cpu_and_mobile/cpu-int4-rtn-block-32-acc-level-4", 4_930_000_000,
                    ["genai_config.json", "model.onnx", "model.onnx.data", .. s_bpeTokenizer]),
                Variant("cuda-int4", "cuda", "int4", "gpu/gpu-int4-rtn-block-32", 3_440_000_000,
                    ["genai_config.json", "model.onnx", "model.onnx.data", .. s_bpeTokenizer])),
        };
        yield return new ModelCatalogEntry
        {
            Id = "qwen2.5-0.5b",
            Repository = "amd/Qwen2.5-0.5B-Instruct-quantized_int4-float16-cpu-onnx",
            License = "Apache-2.0 (upstream Qwen2.5-0.5B-Instruct; the AMD repository states no licence of its own: unverified)",
            ContextLength = 32_768,
            Description = "Qwen2.5-0.5B-Instruct, INT4 CPU build published by AMD (not by Qwen or Microsoft).",
            Variants = Variants(
                Variant("cpu-int4", "cpu", "int4", "", 834_000_000,
                    ["genai_config.json", "model.onnx", "model.onnx.data", .. s_bpeTokenizer])),
        };
        yield return new ModelCatalogEntry
        {
            Id = "llama-3.2-3b",
            Repository = "onnx-community/Llama-3.2-3B-Instruct-ONNX",
            License = "Llama 3.2 Community License (weights); MIT (conversion)",
            ContextLength = 131_072,
            Description = "Llama-3.2-3B-Instruct by Meta, ONNX Runtime GenAI builds by the ONNX Runtime team.",
            Variants = Variants(
                Variant("cpu-int4", "cpu", "int4", "cpu_and_mobile/cpu-int4-rtn-block-32-acc-level-4", 3_660_000_000,
                    ["genai_config.json", "model.onnx", "model.onnx.data", .. s_llamaTokenizer]),
                Variant("cuda-int4", "cuda", "int4", "cuda/cuda-int4-rtn-block-32", 2_640_000_000,
                    ["genai_config.json", "model.onnx", "model.onnx.data", .. s_llamaTokenizer])),
        };
        yield return new ModelCatalogEntry
        {
            Id = "llama-3.2-1b",
            Repository = "onnx-community/Llama-3.2-1B-Instruct-ONNX",
            License = "Llama 3.2 Community License (weights); MIT (conversion)",
            ContextLength = 131_072,
            Description = "Llama-3.2-1B-Instruct by Meta. Folders verified; file names assumed from the 3B sibling " +
                          "repository (same publisher and upload) and sizes unknown: unverified.",
            Variants = Variants(
                Variant("cpu-int4", "cpu", "int4", "cpu_and_mobile/cpu-int4-rtn-block-32-acc-level-4", 0,
                    ["genai_config.json", "model.onnx", "model.onnx.data", .. s_llamaTokenizer]),
                Variant("cuda-int4", "cuda", "int4", "cuda/cuda-int4-rtn-block-32", 0,
                    ["genai_config.json", "model.onnx", "model.onnx.data", .. s_llamaTokenizer]),
                Variant("cuda-fp16", "cuda", "fp16", "cuda/cuda-fp16", 0,
                    ["genai_config.json", "model.onnx", "model.onnx.data", .. s_llamaTokenizer])),
        };
    }

    private static Dictionary<string, ModelVariant> Variants(params ModelVariant[] variants) =>
        variants.ToDictionary(v => v.Name, StringComparer.OrdinalIgnoreCase);

    private static ModelVariant Variant(string name, string provider, string precision, string folder, long bytes, string[] files) =>
        new()
        {
            Name = name,
            ExecutionProvider = provider,
            Precision = precision,
            Folder = folder,
            ApproximateBytes = bytes,
            Files = [.. files.Select(f => new ModelFile(f))],
        };
}
