using LocalLlm.Memory;

namespace LocalLlm.Memory.Tests;

/// <summary>Published model shapes (from their Hugging Face config.json files).</summary>
internal static class KnownShapes
{
    public static ModelShape Qwen25_05B(NumberFormat precision = NumberFormat.Fp32) => new()
    {
        Layers = 24, HiddenSize = 896, AttentionHeads = 14, KeyValueHeads = 2, HeadSize = 64,
        VocabSize = 151936, IntermediateSize = 4864, TiedEmbeddings = true, AttentionBias = true,
        ContextLength = 32768, Precision = precision,
    };

    public static ModelShape Llama32_1B(NumberFormat precision = NumberFormat.Fp32) => new()
    {
        Layers = 16, HiddenSize = 2048, AttentionHeads = 32, KeyValueHeads = 8, HeadSize = 64,
        VocabSize = 128256, IntermediateSize = 8192, TiedEmbeddings = true, ContextLength = 131072,
        Precision = precision,
    };

    public static ModelShape Llama2_7B(NumberFormat precision = NumberFormat.Fp16) => new()
    {
        Layers = 32, HiddenSize = 4096, AttentionHeads = 32, KeyValueHeads = 32, HeadSize = 128,
        VocabSize = 32000, IntermediateSize = 11008, ContextLength = 4096, Precision = precision,
    };
}
