using System.Globalization;

namespace LocalLlm.ModelForge;

/// <summary>What the forged model computes.</summary>
public enum ModelDesign
{
    /// <summary>Greedy next token = the token <see cref="ForgeOptions.Lag"/> positions back (real attention, RoPE, KV cache).</summary>
    Copy,

    /// <summary>Greedy next token = current token + 1, modulo the vocabulary size.</summary>
    Successor,

    /// <summary>Next-token logits are <see cref="FixedDistribution.Logits"/> whatever the input.</summary>
    FixedDistribution,

    /// <summary>Seeded random weights in a realistic shape (benchmarks); output is deterministic but meaningless.</summary>
    Random,

    /// <summary>A bigram model where greedy's first choice leads to a less likely reply than beam search finds (<see cref="BeamTrapDesign"/>; fp32/fp16).</summary>
    BeamTrap,

    /// <summary>A <c>phi3v</c> multimodal folder whose reply names the image's brightness (<see cref="VisionDesign"/>; fp32).</summary>
    Vision,
}

/// <summary>How the weights of the matrix multiplications are stored.</summary>
public enum WeightPrecision
{
    /// <summary>float32 weights and activations.</summary>
    Fp32,

    /// <summary>float16 weights, activations, KV cache and logits.</summary>
    Fp16,

    /// <summary>8-bit MatMulNBits (block 32) with float32 activations.</summary>
#pragma warning disable CA1720 // Int8/Int4 name weight precisions, as everywhere in ONNX Runtime's docs.
    Int8,

    /// <summary>4-bit MatMulNBits (block 32) with float32 activations.</summary>
    Int4,
#pragma warning restore CA1720
}

/// <summary>How attention is expressed in the graph.</summary>
public enum AttentionKind
{
    /// <summary>Plain ONNX ops; the KV cache grows by Concat; the model takes position_ids.</summary>
    Plain,

    /// <summary>com.microsoft GroupQueryAttention with rotary inside and a shared past/present buffer.</summary>
    GroupQueryAttention,
}

/// <summary>The shape of a decoder-only transformer (used by the random design).</summary>
/// <param name="HiddenSize">Model width.</param>
/// <param name="Layers">Decoder layers.</param>
/// <param name="AttentionHeads">Query heads.</param>
/// <param name="KeyValueHeads">Key/value heads (divides <paramref name="AttentionHeads"/>).</param>
/// <param name="HeadSize">Size of one head (even).</param>
/// <param name="IntermediateSize">MLP width.</param>
/// <param name="VocabSize">Vocabulary size (at least <see cref="ByteTokenizer.BaseVocabSize"/>).</param>
/// <param name="ContextLength">Maximum sequence length (the size of the rotary tables).</param>
/// <param name="RopeTheta">Rotary base frequency.</param>
public sealed record ModelShape(
    int HiddenSize,
    int Layers,
    int AttentionHeads,
    int KeyValueHeads,
    int HeadSize,
    int IntermediateSize,
    int VocabSize,
    int ContextLength,
    float RopeTheta = 10000f)
{
    /// <summary>Shaped like Qwen2.5-0.5B-Instruct.</summary>
    public static ModelShape Qwen05B { get; } = new(896, 24, 14, 2, 64, 4864, 151936, 32768, 1_000_000f);

    /// <summary>Shaped like Llama-3.2-1B-Instruct.</summary>
    public static ModelShape Llama1B { get; } = new(2048, 16, 32, 8, 64, 8192, 128256, 131072, 500_000f);

    /// <summary>Shaped like Phi-3.5-mini-instruct (plain RoPE instead of LongRoPE).</summary>
    public static ModelShape Phi35Mini { get; } = new(3072, 32, 32, 32, 96, 8192, 32064, 131072, 10000f);

    /// <summary>A tiny shape for tests: 2 layers, hidden 64, vocab 320.</summary>
    public static ModelShape Tiny { get; } = new(64, 2, 4, 2, 16, 128, 320, 1024);

    /// <summary>Preset names accepted by <see cref="FromPreset"/>.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["qwen2.5-0.5b", "llama-3.2-1b", "phi-3.5-mini", "tiny"];

    /// <summary>Looks a preset up by name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is not a preset.</exception>
    public static ModelShape FromPreset(string name) => name?.ToUpperInvariant() switch
    {
        "QWEN2.5-0.5B" => Qwen05B,
        "LLAMA-3.2-1B" => Llama1B,
        "PHI-3.5-MINI" => Phi35Mini,
        "TINY" => Tiny,
        _ => throw new ArgumentException($"Unknown preset '{name}'; use one of {string.Join(", ", PresetNames)}.", nameof(name)),
    };

    /// <summary>Parameters of the decoder (embedding and LM head counted separately, no tying).</summary>
    public long ParameterCount
    {
        get
        {
            long h = HiddenSize, q = (long)AttentionHeads * HeadSize, kv = (long)KeyValueHeads * HeadSize;
            long perLayer = (h * q) + (2 * h * kv) + (q * h) + (3 * h * IntermediateSize) + (2 * h);
            return (Layers * perLayer) + (2 * (long)VocabSize * h) + h;
        }
    }

    internal void Validate()
    {
        static void Positive(int value, string name)
        {
            if (value <= 0)
                throw new ArgumentException($"ModelShape.{name} must be positive (got {value}).");
        }
        Positive(HiddenSize, nameof(HiddenSize));
        Positive(Layers, nameof(Layers));
        Positive(AttentionHeads, nameof(AttentionHeads));
        Positive(KeyValueHeads, nameof(KeyValueHeads));
        Positive(HeadSize, nameof(HeadSize));
        Positive(IntermediateSize, nameof(IntermediateSize));
        Positive(ContextLength, nameof(ContextLength));
        if (AttentionHeads % KeyValueHeads != 0)
            throw new ArgumentException($"ModelShape.AttentionHeads ({AttentionHeads}) must be a multiple of KeyValueHeads ({KeyValueHeads}).");
        if (HeadSize % 2 != 0)
            throw new ArgumentException($"ModelShape.HeadSize must be even for rotary embeddings (got {HeadSize}).");
        if (VocabSize < ByteTokenizer.BaseVocabSize)
            throw new ArgumentException($"ModelShape.VocabSize must be at least {ByteTokenizer.BaseVocabSize} (256 bytes + special tokens), got {VocabSize}.");
        if (RopeTheta <= 1f)
            throw new ArgumentException($"ModelShape.RopeTheta must be greater than 1 (got {RopeTheta}).");
    }

    internal string Key => string.Create(CultureInfo.InvariantCulture,
        $"h{HiddenSize}-l{Layers}-a{AttentionHeads}-kv{KeyValueHeads}-d{HeadSize}-i{IntermediateSize}-v{VocabSize}-c{ContextLength}-r{RopeTheta:R}");
}

/// <summary>Everything that determines a forged model folder. Same options, byte-identical files.</summary>
public sealed record ForgeOptions
{
    /// <summary>The designed behaviour.</summary>
    /// <value>Default <see cref="ModelDesign.Copy"/>.</value>
    public ModelDesign Design { get; init; } = ModelDesign.Copy;

    /// <summary>Weight precision.</summary>
    /// <value>Default <see cref="WeightPrecision.Fp32"/>.</value>
    public WeightPrecision Precision { get; init; } = WeightPrecision.Fp32;

    /// <summary>Attention implementation.</summary>
    /// <value>Default <see cref="AttentionKind.Plain"/>.</value>
    public AttentionKind Attention { get; init; } = AttentionKind.Plain;

    /// <summary>Copy design only: the next token is the token this many positions back (1 repeats the last token).</summary>
    /// <value>Default 4.</value>
    public int Lag { get; init; } = 4;

    /// <summary>Random design only: the shape (a preset such as <see cref="ModelShape.Qwen05B"/> or a custom one).</summary>
    /// <value>Default null, meaning <see cref="ModelShape.Tiny"/>.</value>
    public ModelShape? Shape { get; init; }

    /// <summary>Random design only: the weight seed.</summary>
    /// <value>Default 0.</value>
    public int Seed { get; init; }

    /// <summary>MatMulNBits accuracy_level (0 = default, 1 = fp32, 2 = fp16, 3 = bf16, 4 = int8 compute).</summary>
    /// <value>Default 4.</value>
    public int AccuracyLevel { get; init; } = 4;

    /// <summary>context_length in genai_config.json and the rotary table size; null takes the design's default
    /// (<see cref="DesignedModel.DefaultContextLength"/> for designed models, the shape's for random).</summary>
    /// <value>Default null.</value>
    public int? ContextLength { get; init; }

    /// <summary>
    /// Copy and random designs: 0, or the rank of a LoRA branch on every query projection whose parameters are graph
    /// inputs (defaults zero), so <see cref="Forge.WriteCopyAdapter"/> can write an <c>.onnx_adapter</c> that changes
    /// the lag (copy) and <see cref="Forge.WriteRandomAdapter"/> one with seeded values (random: its cost).
    /// </summary>
    /// <value>Default 0 (no LoRA inputs).</value>
    public int LoraRank { get; init; }

    internal ModelShape EffectiveShape => Shape ?? ModelShape.Tiny;

    internal int EffectiveContextLength => ContextLength
        ?? Design switch
        {
            ModelDesign.Random => EffectiveShape.ContextLength,
            ModelDesign.Vision => VisionDesign.DefaultContextLength,
            _ => DesignedModel.DefaultContextLength,
        };

    /// <summary>A canonical, culture-invariant description of every option (the cache key).</summary>
    public string CanonicalKey => string.Create(CultureInfo.InvariantCulture,
        $"forge-v1|{Design}|{Precision}|{Attention}|lag{(Design == ModelDesign.Copy ? Lag : 0)}|" +
        $"{(Design == ModelDesign.Random ? EffectiveShape.Key + "|seed" + Seed : "designed")}|acc{AccuracyLevel}|ctx{EffectiveContextLength}{(LoraRank > 0 ? "|lora" + LoraRank.ToString(CultureInfo.InvariantCulture) : "")}");

    /// <summary>Checks the options and throws an exception naming the bad option and the fix.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Design))
            throw new ArgumentException($"ForgeOptions.Design {Design} is not a known design.");
        if (!Enum.IsDefined(Precision))
            throw new ArgumentException($"ForgeOptions.Precision {Precision} is not a known precision.");
        if (!Enum.IsDefined(Attention))
            throw new ArgumentException($"ForgeOptions.Attention {Attention} is not a known attention kind.");
        if (AccuracyLevel is < 0 or > 4)
            throw new ArgumentException($"ForgeOptions.AccuracyLevel must be 0..4 (got {AccuracyLevel}).");
        if (ContextLength is <= 1)
            throw new ArgumentException($"ForgeOptions.ContextLength must be at least 2 (got {ContextLength}).");
        if (Design == ModelDesign.Copy && (Lag < 1 || Lag >= EffectiveContextLength))
            throw new ArgumentException($"ForgeOptions.Lag must be between 1 and ContextLength - 1 ({EffectiveContextLength - 1}); got {Lag}.");
        if (Design != ModelDesign.Random && Shape is not null)
            throw new ArgumentException($"ForgeOptions.Shape applies to the random design only; the {Design} design has a fixed tiny shape. Remove Shape or use ModelDesign.Random.");
        if (Design == ModelDesign.Random)
            EffectiveShape.Validate();
        if (LoraRank is < 0 or > 64)
            throw new ArgumentException($"ForgeOptions.LoraRank must be 0..64 (got {LoraRank}).");
        if (LoraRank > 0 && Design is not (ModelDesign.Copy or ModelDesign.Random))
            throw new ArgumentException($"ForgeOptions.LoraRank applies to the copy design (its adapter changes the lag) and the random design (its cost) only; the {Design} design has none. Remove LoraRank or use ModelDesign.Copy.");
        if (Design == ModelDesign.Vision && Precision != WeightPrecision.Fp32)
            throw new ArgumentException($"ForgeOptions.Precision {Precision} is not offered by the vision design (its embedding and vision graphs are fp32); use Fp32.");
        if (Design == ModelDesign.BeamTrap && Precision is not (WeightPrecision.Fp32 or WeightPrecision.Fp16))
            throw new ArgumentException($"ForgeOptions.Precision {Precision} does not hold the beam-trap design's log-probabilities exactly; use Fp32 or Fp16.");
    }
}
