using LocalLlm.Memory;
using LocalLlm.ModelForge;
using ForgeShape = LocalLlm.ModelForge.ModelShape;
using PlanShape = LocalLlm.Memory.ModelShape;

namespace LocalLlm.Bench.Running;

/// <summary>A model folder the bench measures, with the shape the planner needs (null when unknown).</summary>
internal sealed record BenchModel(string Name, string Folder, PlanShape? Shape, string Precision, int AccuracyLevel = 4)
{
    /// <summary>The options ModelForge wrote the folder with (null for folders made elsewhere).</summary>
    public ForgeOptions? Forged { get; init; }

    public long FileBytes => Directory.EnumerateFiles(Folder).Sum(f => new FileInfo(f).Length);
}

/// <summary>
/// The model folders the suites run on: ModelForge's random-weight presets in real shapes, written on first use and
/// cached outside the repository (~/.cache/localllm/forge, or $LOCALLLM_CACHE/forge).
/// </summary>
internal sealed class BenchModels(bool quick, Action<string> log)
{
    public bool Quick { get; } = quick;

    /// <summary>The shape most suites use: Qwen2.5-0.5B (full) or ModelForge's tiny shape (quick).</summary>
    public ForgeShape PrimaryShape => Quick ? ForgeShape.Tiny : ForgeShape.Qwen05B;

    /// <summary>The model most suites run on: int4 (accuracy level 4), GroupQueryAttention.</summary>
    public BenchModel Primary() => Get(PrimaryShape, WeightPrecision.Int4, AttentionKind.GroupQueryAttention, 4);

    /// <summary>fp32, fp16, int8, int4 at accuracy level 4, and int4 at accuracy level 0.</summary>
    public IReadOnlyList<BenchModel> PrecisionVariants() =>
    [
        Get(PrimaryShape, WeightPrecision.Fp32, AttentionKind.GroupQueryAttention, 4),
        Get(PrimaryShape, WeightPrecision.Fp16, AttentionKind.GroupQueryAttention, 4),
        Get(PrimaryShape, WeightPrecision.Int8, AttentionKind.GroupQueryAttention, 4),
        Get(PrimaryShape, WeightPrecision.Int4, AttentionKind.GroupQueryAttention, 4),
        Get(PrimaryShape, WeightPrecision.Int4, AttentionKind.GroupQueryAttention, 0),
    ];

    public BenchModel Get(ForgeShape shape, WeightPrecision precision, AttentionKind attention, int accuracyLevel, int loraRank = 0)
    {
        var options = new ForgeOptions
        {
            Design = ModelDesign.Random, Shape = shape, Precision = precision, Attention = attention,
            AccuracyLevel = precision is WeightPrecision.Int4 or WeightPrecision.Int8 ? accuracyLevel : 4,
            // The rotary tables and genai_config follow the context length; 8192 covers every suite and keeps folders small.
            ContextLength = Math.Min(shape.ContextLength, 8192),
            LoraRank = loraRank,
        };
        string name = $"{ShapeName(shape)} {precision.ToString().ToLowerInvariant()}" +
            (precision is WeightPrecision.Int4 or WeightPrecision.Int8 ? $" acc{accuracyLevel}" : "") +
            (attention == AttentionKind.GroupQueryAttention ? " GQA" : " plain") + (loraRank > 0 ? $" LoRA r{loraRank}" : "");
        string folder = ForgedModels.GetOrCreate(options);
        log($"model: {name} → {folder}");
        return new BenchModel(name, folder, ToPlannerShape(shape, precision, options.ContextLength.Value), precision.ToString().ToLowerInvariant(), accuracyLevel) { Forged = options };
    }

    /// <summary>The planner's description of a forged folder: untied lm_head stored like the other matrices, embeddings in the compute format.</summary>
    public static PlanShape ToPlannerShape(ForgeShape s, WeightPrecision precision, int contextLength) => new()
    {
        Layers = s.Layers, HiddenSize = s.HiddenSize, AttentionHeads = s.AttentionHeads, KeyValueHeads = s.KeyValueHeads,
        HeadSize = s.HeadSize, VocabSize = s.VocabSize, IntermediateSize = s.IntermediateSize, ContextLength = contextLength,
        TiedEmbeddings = false,
        Precision = precision switch
        {
            WeightPrecision.Fp32 => NumberFormat.Fp32,
            WeightPrecision.Fp16 => NumberFormat.Fp16,
            WeightPrecision.Int8 => NumberFormat.Int8,
            WeightPrecision.Int4 => NumberFormat.Int4,
            _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "Unknown precision."),
        },
    };

    private static string ShapeName(ForgeShape s) =>
        s == ForgeShape.Qwen05B ? "Qwen2.5-0.5B-shaped" : s == ForgeShape.Llama1B ? "Llama-3.2-1B-shaped" : s == ForgeShape.Phi35Mini ? "Phi-3.5-mini-shaped" : s == ForgeShape.Tiny ? "tiny" : $"h{s.HiddenSize}×{s.Layers}";
}
