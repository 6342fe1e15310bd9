using System.Globalization;

namespace LocalLlm.Memory;

/// <summary>Numeric regime of training.</summary>
public enum TrainingPrecision
{
    /// <summary>Everything in fp32: 4-byte weights and gradients.</summary>
    Fp32,

    /// <summary>Mixed precision: fp16/bf16 weights, gradients and activations, plus an fp32 master copy of the weights in the optimizer.</summary>
    MixedFp16,
}

/// <summary>The optimizer, which decides the bytes of state per trainable parameter.</summary>
public enum OptimizerKind
{
    /// <summary>Adam/AdamW with two fp32 moments: 8 bytes per parameter.</summary>
    Adam,

    /// <summary>8-bit Adam (block-wise quantized moments, bitsandbytes): 2 bytes per parameter.</summary>
    Adam8Bit,

    /// <summary>SGD with momentum: 4 bytes per parameter.</summary>
    SgdMomentum,
}

/// <summary>Linear layers that receive LoRA adapters.</summary>
[Flags]
public enum LoraTargets
{
    /// <summary>No layer.</summary>
    None = 0,

    /// <summary>Query projection.</summary>
    Query = 1,

    /// <summary>Key projection.</summary>
    Key = 2,

    /// <summary>Value projection.</summary>
    Value = 4,

    /// <summary>Attention output projection.</summary>
    Output = 8,

    /// <summary>MLP gate projection.</summary>
    Gate = 16,

    /// <summary>MLP up projection.</summary>
    Up = 32,

    /// <summary>MLP down projection.</summary>
    Down = 64,

    /// <summary>Query and value (the LoRA paper's default).</summary>
    QueryValue = Query | Value,

    /// <summary>All four attention projections.</summary>
    Attention = Query | Key | Value | Output,

    /// <summary>Every linear layer of a block (QLoRA's choice).</summary>
    All = Attention | Gate | Up | Down,
}

/// <summary>How a model is trained; see docs/memory-planner.md for the source of each rule.</summary>
public sealed record TrainingSetup
{
    /// <summary>Gets the numeric regime.</summary>
    /// <value>Default <see cref="TrainingPrecision.MixedFp16"/>.</value>
    public TrainingPrecision Precision { get; init; } = TrainingPrecision.MixedFp16;

    /// <summary>Gets the optimizer.</summary>
    /// <value>Default <see cref="OptimizerKind.Adam"/>.</value>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>Gets the LoRA rank; 0 trains every parameter (full fine-tuning).</summary>
    /// <value>Default 0.</value>
    public int LoraRank { get; init; }

    /// <summary>Gets the layers that receive LoRA adapters.</summary>
    /// <value>Default <see cref="LoraTargets.QueryValue"/>.</value>
    public LoraTargets LoraTargets { get; init; } = LoraTargets.QueryValue;

    /// <summary>Gets the format of the frozen base weights under LoRA (fp16, or int8/int4 for a quantized frozen base).</summary>
    /// <value>Default <see cref="NumberFormat.Fp16"/>.</value>
    public NumberFormat FrozenBasePrecision { get; init; } = NumberFormat.Fp16;

    /// <summary>Gets the tokens per sequence.</summary>
    /// <value>Default 512.</value>
    public int SequenceLength { get; init; } = 512;

    /// <summary>Gets the sequences per micro-batch (per device).</summary>
    /// <value>Default 1.</value>
    public int MicroBatch { get; init; } = 1;

    /// <summary>Gets whether activations are recomputed in the backward pass (only layer inputs are kept).</summary>
    /// <value>Default <see langword="false"/>.</value>
    public bool GradientCheckpointing { get; init; }

    /// <summary>Gets the devices that shard weights, gradients and optimizer states (FSDP full shard / ZeRO-3).</summary>
    /// <value>Default 1 (no sharding).</value>
    public int ShardDevices { get; init; } = 1;

    /// <summary>Gets whether gradients and optimizer states (with the fp32 master weights) live in host RAM (ZeRO-Offload).</summary>
    /// <value>Default <see langword="false"/>.</value>
    public bool CpuOffload { get; init; }

    /// <summary>Gets fixed device bytes the framework adds (CUDA context, allocator slack).</summary>
    /// <value>Default 0.</value>
    public long FrameworkOverheadBytes { get; init; }

    /// <summary>Gets whether this is LoRA training.</summary>
    public bool IsLora => LoraRank > 0;

    /// <summary>Checks the numbers.</summary>
    /// <exception cref="ArgumentException">A value is out of range or the combination makes no sense.</exception>
    public void Validate()
    {
        if (LoraRank < 0)
            throw new ArgumentException($"TrainingSetup.LoraRank must be 0 (full fine-tuning) or positive, not {LoraRank}.");
        if (IsLora && LoraTargets == LoraTargets.None)
            throw new ArgumentException("TrainingSetup.LoraTargets is None while LoraRank > 0; pick the layers to adapt.");
        if (!IsLora && FrozenBasePrecision.IsQuantized())
            throw new ArgumentException($"A {FrozenBasePrecision} frozen base needs LoRA: set TrainingSetup.LoraRank (quantized weights cannot be trained directly).");
        if (SequenceLength <= 0 || MicroBatch <= 0 || ShardDevices <= 0)
            throw new ArgumentException($"TrainingSetup.SequenceLength ({SequenceLength}), MicroBatch ({MicroBatch}) and ShardDevices ({ShardDevices}) must be positive.");
        if (FrameworkOverheadBytes < 0)
            throw new ArgumentException("TrainingSetup.FrameworkOverheadBytes must not be negative.");
    }
}

/// <summary>
/// Sizes training memory: parameters, gradients, optimizer states and activations, per device, under
/// full fp32, mixed precision, LoRA over an fp16 or quantized frozen base, gradient checkpointing,
/// FSDP sharding and CPU offload.
/// </summary>
public static class TrainingPlanner
{
    /// <summary>Component name of the weights.</summary>
    public const string Parameters = "parameters";

    /// <summary>Component name of the gradients.</summary>
    public const string Gradients = "gradients";

    /// <summary>Component name of the optimizer states (moments and fp32 master weights).</summary>
    public const string OptimizerStates = "optimizer states";

    /// <summary>Component name of the activations kept for the backward pass.</summary>
    public const string Activations = "activations";

    /// <summary>Component name of the logits and their gradient.</summary>
    public const string Logits = "logits";

    /// <summary>Component name of the framework overhead.</summary>
    public const string Framework = "framework overhead";

    /// <summary>Trainable LoRA parameters: for each adapted d_in × d_out matrix, rank × (d_in + d_out), in every layer.</summary>
    /// <param name="model">The model.</param>
    /// <param name="rank">The LoRA rank.</param>
    /// <param name="targets">The adapted layers.</param>
    /// <returns>The adapter parameter count.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    public static long LoraParameters(ModelShape model, int rank, LoraTargets targets)
    {
        ArgumentNullException.ThrowIfNull(model);
        long h = model.HiddenSize, q = (long)model.AttentionHeads * model.HeadSize, kv = (long)model.KeyValueHeads * model.HeadSize, i = model.IntermediateSize;
        long perLayer = 0;
        if (targets.HasFlag(LoraTargets.Query)) perLayer += h + q;
        if (targets.HasFlag(LoraTargets.Key)) perLayer += h + kv;
        if (targets.HasFlag(LoraTargets.Value)) perLayer += h + kv;
        if (targets.HasFlag(LoraTargets.Output)) perLayer += q + h;
        if (targets.HasFlag(LoraTargets.Gate)) perLayer += h + i;
        if (targets.HasFlag(LoraTargets.Up)) perLayer += h + i;
        if (targets.HasFlag(LoraTargets.Down)) perLayer += i + h;
        return perLayer * rank * model.Layers;
    }

    /// <summary>
    /// Activation bytes kept for the backward pass, per device. Without checkpointing: Korthikanti et al.
    /// (2022), s·b·h·(34 + 5·a·s/h) bytes per layer for 16-bit activations (scaled ×2 for fp32). With
    /// checkpointing: each layer's 16-bit input (2·s·b·h) plus one layer's full activations being recomputed.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="setup">The training setup.</param>
    /// <returns>Bytes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="setup"/> is null.</exception>
    public static long ActivationBytes(ModelShape model, TrainingSetup setup)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(setup);
        double s = setup.SequenceLength, b = setup.MicroBatch, h = model.HiddenSize, a = model.AttentionHeads;
        double scale = setup.Precision == TrainingPrecision.Fp32 ? 2 : 1;
        double perLayer = s * b * h * (34 + (5 * a * s / h)) * scale;
        double total = setup.GradientCheckpointing
            ? (model.Layers * 2 * s * b * h * scale) + perLayer
            : model.Layers * perLayer;
        return (long)total;
    }

    /// <summary>Estimates per-device training memory.</summary>
    /// <param name="model">The model (its <see cref="ModelShape.Precision"/> is ignored: the setup decides the formats).</param>
    /// <param name="setup">The training setup.</param>
    /// <returns>The breakdown; host components appear only with CPU offload.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="setup"/> is null.</exception>
    /// <exception cref="ArgumentException">The shape or setup is invalid.</exception>
    public static MemoryBreakdown Estimate(ModelShape model, TrainingSetup setup)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(setup);
        model.Validate();
        setup.Validate();
        var inv = CultureInfo.InvariantCulture;
        int n = setup.ShardDevices;
        long p = model.Parameters;
        bool mixed = setup.Precision == TrainingPrecision.MixedFp16;
        double optimizerMoments = setup.Optimizer switch
        {
            OptimizerKind.Adam => 8,
            OptimizerKind.Adam8Bit => 2,
            OptimizerKind.SgdMomentum => 4,
            _ => throw new ArgumentException($"Unknown optimizer {setup.Optimizer}."),
        };

        long weights, grads, optimizer, trainable;
        string weightsHow, gradsHow, optHow;
        if (setup.IsLora)
        {
            // Frozen base in its storage format, adapters trained in fp32 (PEFT's default) with the optimizer.
            trainable = LoraParameters(model, setup.LoraRank, setup.LoraTargets);
            long baseBytes = InferencePlanner.WeightBytes(p, setup.FrozenBasePrecision);
            weights = baseBytes + (trainable * 4);
            grads = trainable * 4;
            optimizer = (long)(trainable * optimizerMoments);
            weightsHow = string.Create(inv, $"frozen base {p / 1e9:0.00}B × {setup.FrozenBasePrecision} + LoRA r={setup.LoraRank} ({setup.LoraTargets}) {trainable / 1e6:0.0}M × 4 B");
            gradsHow = string.Create(inv, $"adapters only: {trainable / 1e6:0.0}M × 4 B");
            optHow = string.Create(inv, $"adapters only: {trainable / 1e6:0.0}M × {optimizerMoments} B ({setup.Optimizer})");
        }
        else
        {
            trainable = p;
            double w = mixed ? 2 : 4;
            weights = (long)(p * w);
            grads = (long)(p * w);
            double master = mixed ? 4 : 0;
            optimizer = (long)(p * (master + optimizerMoments));
            weightsHow = string.Create(inv, $"{p / 1e9:0.00}B × {w} B");
            gradsHow = string.Create(inv, $"{p / 1e9:0.00}B × {w} B");
            optHow = mixed
                ? string.Create(inv, $"{p / 1e9:0.00}B × (4 B fp32 master + {optimizerMoments} B {setup.Optimizer})")
                : string.Create(inv, $"{p / 1e9:0.00}B × {optimizerMoments} B {setup.Optimizer}");
        }

        string shard = n > 1 ? string.Create(inv, $" ÷ {n} devices") : "";
        MemoryLocation offloaded = setup.CpuOffload ? MemoryLocation.Host : MemoryLocation.Device;
        double logitBytes = setup.Precision == TrainingPrecision.Fp32 ? 4 : 2;
        long logits = (long)((double)setup.SequenceLength * setup.MicroBatch * model.VocabSize * (logitBytes + 4 + 4));

        var components = new List<MemoryComponent>
        {
            new(Parameters, weights / n, weightsHow + shard),
            new(Gradients, grads / n, gradsHow + shard, offloaded),
            new(OptimizerStates, optimizer / n, optHow + shard, offloaded),
            new(Activations, ActivationBytes(model, setup), setup.GradientCheckpointing
                ? string.Create(inv, $"checkpointed: {model.Layers} × 2·s·b·h + one layer; s={setup.SequenceLength}, b={setup.MicroBatch}")
                : string.Create(inv, $"{model.Layers} × s·b·h·(34 + 5·a·s/h); s={setup.SequenceLength}, b={setup.MicroBatch}")),
            new(Logits, logits, string.Create(inv, $"s·b·vocab × ({logitBytes} B logits + 4 B fp32 copy + 4 B gradient)")),
        };
        if (setup.FrameworkOverheadBytes > 0)
            components.Add(new(Framework, setup.FrameworkOverheadBytes, "given"));

        string method = setup.IsLora ? string.Create(inv, $"LoRA r={setup.LoraRank} over {setup.FrozenBasePrecision} base") : "full fine-tuning";
        string extras = (setup.GradientCheckpointing ? ", checkpointing" : "") + (n > 1 ? string.Create(inv, $", FSDP × {n}") : "") + (setup.CpuOffload ? ", CPU offload" : "");
        return new MemoryBreakdown(
            string.Create(inv, $"Training: {p / 1e9:0.00}B params, {method}, {setup.Precision}, {setup.Optimizer}{extras} (per device)"),
            components);
    }
}
