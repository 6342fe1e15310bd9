using System.Globalization;

namespace LocalLlm.Memory;

/// <summary>What an inference deployment runs: prompt length, total sequence length and concurrent sequences.</summary>
/// <param name="PromptTokens">Tokens prefilled at once (sizes the transient activations).</param>
/// <param name="MaxLength">Prompt plus generated tokens (sizes the KV cache; ORT GenAI's shared buffer allocates it up front).</param>
/// <param name="Concurrency">Sequences alive at the same time, each with its own KV cache.</param>
public sealed record InferenceWorkload(int PromptTokens, int MaxLength, int Concurrency = 1)
{
    /// <summary>Checks the numbers.</summary>
    /// <exception cref="ArgumentException">A value is not positive or the prompt is longer than the sequence.</exception>
    public void Validate()
    {
        if (PromptTokens <= 0 || MaxLength <= 0 || Concurrency <= 0)
            throw new ArgumentException($"InferenceWorkload values must be positive (prompt {PromptTokens}, max length {MaxLength}, concurrency {Concurrency}).");
        if (PromptTokens > MaxLength)
            throw new ArgumentException($"InferenceWorkload.PromptTokens ({PromptTokens}) exceeds MaxLength ({MaxLength}); raise MaxLength.");
    }
}

/// <summary>
/// Memory the runtime adds on top of weights, KV cache and activations: the process, the .NET runtime,
/// ONNX Runtime's libraries and session state. Measured by the benchmark lab (bench plan --measure), not
/// guessed; see docs/memory-planner.md.
/// </summary>
/// <param name="FixedBytes">Bytes independent of the model size.</param>
/// <param name="WeightFactor">Resident weight bytes per stored weight byte (1 when weights are used in place).</param>
public sealed record RuntimeOverhead(long FixedBytes, double WeightFactor = 1.0)
{
    /// <summary>Gets no overhead: the bare formulas (weights + KV cache + activations).</summary>
    public static RuntimeOverhead None { get; } = new(0, 1.0);

    /// <summary>Gets the overhead measured for the ONNX Runtime GenAI CPU runtime in a .NET 10 process on Linux.</summary>
    public static RuntimeOverhead OnnxRuntimeGenAICpu { get; } = new(MeasuredCpuFixedBytes, 1.0);

    // Peak RSS of a .NET 10 process that loaded the ORT GenAI CPU runtime and a tiny model and generated
    // a few tokens, minus that model's weights: see docs/memory-planner.md ("Runtime overhead").
    private const long MeasuredCpuFixedBytes = 120L * 1024 * 1024;
}

/// <summary>Sizes inference memory: weights by precision, KV cache, transient activations and runtime overhead.</summary>
public static class InferencePlanner
{
    /// <summary>Component name of the weights.</summary>
    public const string Weights = "weights";

    /// <summary>Component name of the KV cache.</summary>
    public const string KvCache = "KV cache";

    /// <summary>Component name of the transient activations.</summary>
    public const string Activations = "activations (prefill peak)";

    /// <summary>Component name of the runtime overhead.</summary>
    public const string Runtime = "runtime overhead";

    /// <summary>
    /// Bytes of <paramref name="parameters"/> weights stored in <paramref name="format"/>: elements × bytes, plus
    /// for int8/int4 one scale (and optionally one zero point) per block of <paramref name="blockSize"/> weights.
    /// </summary>
    /// <param name="parameters">Number of weights.</param>
    /// <param name="format">Their format.</param>
    /// <param name="blockSize">Weights per quantization block.</param>
    /// <param name="scaleFormat">Format of the scales; <see langword="null"/> to leave scales out (the idealized "1 byte per int8 weight").</param>
    /// <param name="zeroPoints">Whether each block also stores a zero point of the quantized width.</param>
    /// <returns>Bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="parameters"/> is negative or <paramref name="blockSize"/> is not positive.</exception>
    public static long WeightBytes(long parameters, NumberFormat format, int blockSize = 32,
        NumberFormat? scaleFormat = NumberFormat.Fp32, bool zeroPoints = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(parameters);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        double bytes = parameters * format.BytesPerElement();
        if (format.IsQuantized())
        {
            long blocks = (parameters + blockSize - 1) / blockSize;
            if (scaleFormat is { } s)
                bytes += blocks * s.BytesPerElement();
            if (zeroPoints)
                bytes += blocks * format.BytesPerElement();
        }
        return (long)Math.Ceiling(bytes);
    }

    /// <summary>Bytes of all the weights of <paramref name="model"/>, as stored (quantized matrices with their scales).</summary>
    /// <param name="model">The model.</param>
    /// <returns>Bytes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    public static long ModelWeightBytes(ModelShape model)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.Validate();
        long matrices = model.Layers * model.LinearParametersPerLayer + model.LmHeadParameters;
        long small = model.Layers * model.SmallParametersPerLayer + model.HiddenSize;
        return WeightBytes(matrices, model.Precision, model.QuantizationBlockSize, model.ScalePrecision, model.QuantizationZeroPoints)
            + WeightBytes(model.EmbeddingParameters + small, model.EffectiveEmbeddingPrecision);
    }

    /// <summary>KV cache bytes per token of one sequence: 2 (K and V) × layers × KV heads × head size × element bytes.</summary>
    /// <param name="model">The model.</param>
    /// <returns>Bytes per token.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    public static long KvCacheBytesPerToken(ModelShape model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return (long)(2L * model.Layers * model.KeyValueHeads * model.HeadSize * model.EffectiveKvCachePrecision.BytesPerElement());
    }

    /// <summary>KV cache bytes: 2 × layers × KV heads × head size × element bytes × tokens × batch.</summary>
    /// <param name="model">The model.</param>
    /// <param name="tokens">Tokens per sequence.</param>
    /// <param name="batch">Sequences.</param>
    /// <returns>Bytes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tokens"/> or <paramref name="batch"/> is negative.</exception>
    public static long KvCacheBytes(ModelShape model, long tokens, int batch = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        return KvCacheBytesPerToken(model) * tokens * batch;
    }

    /// <summary>
    /// Transient bytes while prefilling <paramref name="promptTokens"/> tokens for <paramref name="batch"/>
    /// sequences at once: logits for every prompt position (the exported graphs return them all), the attention
    /// score matrix (heads × prompt × prompt, no flash attention on the CPU), and the MLP and hidden-state buffers.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="promptTokens">Tokens prefilled in one step.</param>
    /// <param name="batch">Sequences prefilled together.</param>
    /// <returns>Bytes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    public static long PrefillActivationBytes(ModelShape model, int promptTokens, int batch = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        double a = model.Precision.ComputeFormat().BytesPerElement();
        double tokens = (double)promptTokens * batch;
        double logits = tokens * model.VocabSize * a;
        double scores = (double)batch * model.AttentionHeads * promptTokens * promptTokens * 4; // softmax runs in fp32
        double mlp = tokens * model.IntermediateSize * a * (model.GatedMlp ? 2 : 1);
        double hidden = tokens * model.HiddenSize * a * 4; // residual, normed input, attention output, projection
        return (long)(logits + scores + mlp + hidden);
    }

    /// <summary>Estimates the peak memory of serving <paramref name="workload"/> with <paramref name="model"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="workload">Prompt, max length and concurrency.</param>
    /// <param name="overhead">Runtime overhead; default <see cref="RuntimeOverhead.OnnxRuntimeGenAICpu"/>.</param>
    /// <returns>Weights, KV cache, activations and runtime overhead.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="workload"/> is null.</exception>
    /// <exception cref="ArgumentException">The shape or the workload is invalid.</exception>
    public static MemoryBreakdown Estimate(ModelShape model, InferenceWorkload workload, RuntimeOverhead? overhead = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(workload);
        model.Validate();
        workload.Validate();
        overhead ??= RuntimeOverhead.OnnxRuntimeGenAICpu;
        var inv = CultureInfo.InvariantCulture;

        long weights = ModelWeightBytes(model);
        long residentWeights = (long)(weights * overhead.WeightFactor);
        long kv = KvCacheBytes(model, workload.MaxLength, workload.Concurrency);
        long act = PrefillActivationBytes(model, workload.PromptTokens, workload.Concurrency);

        string weightHow = model.Precision.IsQuantized()
            ? string.Create(inv, $"{model.Parameters / 1e6:0.0}M params; matrices {model.Precision} + {model.ScalePrecision} scale per {model.QuantizationBlockSize}, embeddings {model.EffectiveEmbeddingPrecision}")
            : string.Create(inv, $"{model.Parameters / 1e6:0.0}M params × {model.Precision.BytesPerElement()} B");
        if (overhead.WeightFactor != 1.0)
            weightHow += string.Create(inv, $"; × {overhead.WeightFactor:0.##} resident");

        return new MemoryBreakdown(
            string.Create(inv, $"Inference: {model}; prompt {workload.PromptTokens}, max length {workload.MaxLength}, {workload.Concurrency} sequence(s)"),
            [
                new(Weights, residentWeights, weightHow),
                new(KvCache, kv, string.Create(inv, $"2 × {model.Layers} layers × {model.KeyValueHeads} KV heads × {model.HeadSize} × {model.EffectiveKvCachePrecision.BytesPerElement()} B × {workload.MaxLength} tokens × {workload.Concurrency}")),
                new(Activations, act, string.Create(inv, $"logits {workload.PromptTokens}×{model.VocabSize}, scores {model.AttentionHeads}×{workload.PromptTokens}², MLP and hidden buffers, × {workload.Concurrency}")),
                new(Runtime, overhead.FixedBytes, "process, .NET and ONNX Runtime (measured)"),
            ]);
    }

    /// <summary>
    /// Recommends the largest max length (at <paramref name="concurrency"/> sequences) and the most concurrent
    /// sequences (at <paramref name="maxLength"/>) that fit in <paramref name="budgetBytes"/>. Assumes the worst
    /// case: every sequence prefilled in one step with a full-length prompt.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="budgetBytes">The memory budget.</param>
    /// <param name="maxLength">The max length to find a concurrency for.</param>
    /// <param name="concurrency">The concurrency to find a max length for.</param>
    /// <param name="overhead">Runtime overhead; default <see cref="RuntimeOverhead.OnnxRuntimeGenAICpu"/>.</param>
    /// <returns>The recommendation; zeros when even one token does not fit.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A number is not positive.</exception>
    public static InferenceRecommendation Recommend(ModelShape model, long budgetBytes, int maxLength, int concurrency = 1, RuntimeOverhead? overhead = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(budgetBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(concurrency);
        model.Validate();
        overhead ??= RuntimeOverhead.OnnxRuntimeGenAICpu;

        bool Fits(int length, int streams) =>
            Estimate(model, new InferenceWorkload(length, length, streams), overhead).DeviceBytes <= budgetBytes;

        int limit = model.ContextLength > 0 ? model.ContextLength : 1 << 20;
        int bestLength = LargestFitting(1, limit, n => Fits(n, concurrency));
        int bestConcurrency = LargestFitting(1, 4096, n => Fits(maxLength, n));
        return new InferenceRecommendation(budgetBytes, bestLength, concurrency, bestConcurrency, maxLength);
    }

    // Binary search for the largest n in [low, high] with fits(n), assuming fits is monotone; 0 if none.
    private static int LargestFitting(int low, int high, Func<int, bool> fits)
    {
        if (!fits(low))
            return 0;
        while (low < high)
        {
            int mid = low + ((high - low + 1) / 2);
            if (fits(mid))
                low = mid;
            else
                high = mid - 1;
        }
        return low;
    }
}

/// <summary>What fits in a memory budget.</summary>
/// <param name="BudgetBytes">The budget.</param>
/// <param name="MaxLength">The largest max length that fits at <paramref name="AtConcurrency"/> sequences (0: none).</param>
/// <param name="AtConcurrency">The concurrency <paramref name="MaxLength"/> was computed for.</param>
/// <param name="MaxConcurrency">The most sequences that fit at <paramref name="AtMaxLength"/> tokens each (0: none).</param>
/// <param name="AtMaxLength">The max length <paramref name="MaxConcurrency"/> was computed for.</param>
public sealed record InferenceRecommendation(long BudgetBytes, int MaxLength, int AtConcurrency, int MaxConcurrency, int AtMaxLength);
