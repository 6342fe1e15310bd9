using System.Globalization;

namespace LocalLlm.Memory;

/// <summary>What an inference deployment runs: prompt length, total sequence length and concurrent sequences.</summary>
/// <param name="PromptTokens">Tokens prefilled at once (sizes the transient activations).</param>
/// <param name="MaxLength">Prompt plus generated tokens (sizes the KV cache; ORT GenAI's shared buffer allocates it up front).</param>
/// <param name="Concurrency">Sequences alive at the same time, each with its own KV cache.</param>
public sealed record InferenceWorkload(int PromptTokens, int MaxLength, int Concurrency = 1)
{
    /// <summary>Tokens per prefill step of <see cref="LocalLlmChatClient"/> on models with a shared GQA KV buffer.</summary>
    public const int LocalLlmPrefillChunk = LocalLlmChatClientOptions.PrefillChunkTokens; // one number, so the planner sizes what the client does

    /// <summary>Gets the prompt tokens appended per prefill step; 0 appends the whole prompt in one step.</summary>
    /// <value>
    /// Default 0, the worst case. <see cref="LocalLlmChatClient"/> appends <see cref="LocalLlmPrefillChunk"/> tokens at a
    /// time on models with a shared GQA buffer (ONNX Runtime GenAI's model builder exports), which bounds the logits buffer.
    /// </value>
    public int PrefillChunk { get; init; }

    /// <summary>Gets the images each sequence's prompt holds (the processor's pixel buffers, <see cref="InferencePlanner.Phi3VisionPixelBytes"/> each).</summary>
    /// <value>Default 0.</value>
    public int Images { get; init; }

    /// <summary>
    /// Gets the prompt tokens those images become, in total per sequence (<see cref="InferencePlanner.ImageTokens"/> per
    /// image), on top of <see cref="PromptTokens"/> and <see cref="MaxLength"/>, which count text. A prompt with images
    /// is prefilled in one step (ONNX Runtime GenAI takes images only with a generator's first inputs), so
    /// <see cref="PrefillChunk"/> does not apply to it.
    /// </summary>
    /// <value>Default 0.</value>
    public int ImageTokens { get; init; }

    /// <summary>Gets the bytes of the LoRA adapters loaded into the model (once per model, whichever sequences use them): <see cref="InferencePlanner.AdapterFileBytes"/> or <see cref="InferencePlanner.LoraAdapterBytes"/>.</summary>
    /// <value>Default 0.</value>
    public long AdapterBytes { get; init; }

    /// <summary>Checks the numbers.</summary>
    /// <exception cref="ArgumentException">A value is not positive or the prompt is longer than the sequence.</exception>
    public void Validate()
    {
        if (PromptTokens <= 0 || MaxLength <= 0 || Concurrency <= 0 || PrefillChunk < 0)
            throw new ArgumentException($"InferenceWorkload values must be positive (prompt {PromptTokens}, max length {MaxLength}, concurrency {Concurrency}, prefill chunk {PrefillChunk}; 0 = whole prompt).");
        if (Images < 0 || ImageTokens < 0 || AdapterBytes < 0 || (ImageTokens > 0) != (Images > 0))
            throw new ArgumentException($"InferenceWorkload.Images ({Images}), ImageTokens ({ImageTokens}) and AdapterBytes ({AdapterBytes}) must be ≥ 0, and images need image tokens (InferencePlanner.ImageTokens).");
        if (PromptTokens > MaxLength)
            throw new ArgumentException($"InferenceWorkload.PromptTokens ({PromptTokens}) exceeds MaxLength ({MaxLength}); raise MaxLength.");
    }
}

/// <summary>
/// What the runtime adds to the bare formulas, measured on the ONNX Runtime GenAI CPU runtime in a .NET 10 process
/// (docs/memory-planner.md, "Calibration"): the fixed cost of the process and runtime, extra resident copies of the
/// weight matrices made at load (fp32 copies of fp16 weights; repacked int4/int8 blocks), how much of the
/// memory-mapped embedding table becomes resident, and an fp32 copy of the output projection made on every run.
/// </summary>
/// <param name="FixedBytes">Bytes independent of the model: the .NET process, ONNX Runtime's libraries, the session.</param>
/// <param name="WeightFactor">Resident bytes per stored byte of the weight matrices.</param>
/// <param name="EmbeddingResidentFraction">Share of the embedding table resident (0 when it is memory-mapped and only the rows of used tokens are touched).</param>
/// <param name="Fp32LmHeadCopy">Whether each run casts the output projection to fp32 in a temporary buffer (fp16 weights on the CPU).</param>
/// <param name="LmHeadLoadTransient">Whether loading briefly holds the output projection's stored bytes (its memory-mapped file pages) next to its resident copy.</param>
public sealed record RuntimeOverhead(long FixedBytes, double WeightFactor = 1.0, double EmbeddingResidentFraction = 1.0, bool Fp32LmHeadCopy = false,
    bool LmHeadLoadTransient = false)
{
    // Peak RSS of a .NET 10 process that loaded the ORT GenAI 0.18 CPU runtime and a forged model with 0.2 MB of
    // weights and generated a few tokens: 75 MiB (38 MiB of it before ONNX Runtime loads).
    private const long MeasuredCpuFixedBytes = 75L * 1024 * 1024;

    /// <summary>Gets no overhead: the bare formulas (every weight resident once, nothing fixed).</summary>
    public static RuntimeOverhead None { get; } = new(0);

    /// <summary>
    /// The overhead measured for ONNX Runtime GenAI 0.18 on the CPU execution provider with weights in an external
    /// data file (which ONNX Runtime memory-maps): fixed 75 MiB; embedding rows resident only when used; fp16 matrices
    /// held as fp32 copies (×2) plus an fp32 copy of the output projection per run; int4/int8 matrices repacked
    /// for the int8 compute path at accuracy level 4 (×1.48 measured for int4, ×1.29 for int8); and, while the session loads, the output
    /// projection's memory-mapped file pages resident beside its own resident copy.
    /// </summary>
    /// <param name="weights">The weight format of the model's matrices.</param>
    /// <param name="accuracyLevel">MatMulNBits accuracy level of int4/int8 models (4 = int8 compute).</param>
    /// <returns>The calibrated overhead.</returns>
    public static RuntimeOverhead ForCpu(NumberFormat weights, int accuracyLevel = 4) => weights switch
    {
        NumberFormat.Fp16 or NumberFormat.Bf16 => new(MeasuredCpuFixedBytes, 2.0, 0, Fp32LmHeadCopy: true, LmHeadLoadTransient: true),
        NumberFormat.Int4 => new(MeasuredCpuFixedBytes, accuracyLevel == 4 ? 1.48 : 1.0, 0, LmHeadLoadTransient: true),
        // int8 repacks less than int4 (loaded − fixed = 1.29 × the stored int8 matrices, Qwen2.5-0.5B shape).
        NumberFormat.Int8 => new(MeasuredCpuFixedBytes, accuracyLevel == 4 ? 1.29 : 1.0, 0, LmHeadLoadTransient: true),
        _ => new(MeasuredCpuFixedBytes, 1.0, 0, LmHeadLoadTransient: true),
    };
}

/// <summary>Sizes inference memory: weights by precision, KV cache, transient activations and runtime overhead.</summary>
public static class InferencePlanner
{
    /// <summary>Component name of the weights.</summary>
    public const string Weights = "weights";

    /// <summary>Component name of the embedding table.</summary>
    public const string Embedding = "embedding table";

    /// <summary>Component name of the KV cache.</summary>
    public const string KvCache = "KV cache";

    /// <summary>Component name of the transient activations.</summary>
    public const string Activations = "activations (prefill peak)";

    /// <summary>Component name of the runtime overhead.</summary>
    public const string Runtime = "runtime overhead";

    /// <summary>Component name of the load-time peak above the run-time one (the output projection mapped while the session loads).</summary>
    public const string LoadTransient = "load peak (lm_head mapping)";

    /// <summary>Bytes of the output projection as stored in the model file (the embedding table when the two are tied).</summary>
    /// <param name="model">The model.</param>
    /// <returns>Bytes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    public static long LmHeadStoredBytes(ModelShape model)
    {
        ArgumentNullException.ThrowIfNull(model);
        long parameters = (long)model.VocabSize * model.HiddenSize;
        return model.TiedEmbeddings
            ? WeightBytes(parameters, model.EffectiveEmbeddingPrecision)
            : WeightBytes(parameters, model.Precision, model.QuantizationBlockSize, model.ScalePrecision, model.QuantizationZeroPoints);
    }

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
    /// sequences: logits for every position appended in one step, twice (the exported graphs return them all, computed
    /// from an lm_head buffer of the same size), the attention score matrix (heads × step × prompt, no flash attention on
    /// the CPU), and the MLP and hidden-state buffers of one step.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="promptTokens">Prompt tokens.</param>
    /// <param name="batch">Sequences prefilled together.</param>
    /// <param name="chunkTokens">Tokens appended per step (the last step attends to the whole prompt); 0 = the whole prompt at once.</param>
    /// <returns>Bytes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    public static long PrefillActivationBytes(ModelShape model, int promptTokens, int batch = 1, int chunkTokens = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        double a = model.Precision.ComputeFormat().BytesPerElement();
        int step = chunkTokens > 0 ? Math.Min(chunkTokens, promptTokens) : promptTokens;
        double tokens = (double)step * batch;
        double logits = 2 * tokens * model.VocabSize * a; // the graph output and the lm_head result it is computed from
        double scores = (double)batch * model.AttentionHeads * step * promptTokens * 4; // softmax runs in fp32
        double mlp = tokens * model.IntermediateSize * a * (model.GatedMlp ? 2 : 1);
        double hidden = tokens * model.HiddenSize * a * 4; // residual, normed input, attention output, projection
        return (long)(logits + scores + mlp + hidden);
    }

    /// <summary>Component name: the LoRA adapters loaded into the model.</summary>
    public const string Adapters = "LoRA adapters";

    /// <summary>Component name: the image processor's pixel buffers of the prompts' images.</summary>
    public const string ImageInputs = "image inputs";

    /// <summary>
    /// The prompt tokens one <paramref name="width"/> × <paramref name="height"/> image becomes for a model of type
    /// <paramref name="modelType"/> (genai_config.json <c>model.type</c>): for <c>phi3v</c> (Phi-3/3.5-vision) the processor
    /// scales the image to at most 16 crops of 336 × 336 and gives (crops + 1) · 144 + 1 + (rows + 1) · 12 tokens (2,509
    /// for a square image) — the count LocalLlm's client sizes and checks the prompt with.
    /// </summary>
    /// <exception cref="ArgumentException">The model type has no known image processor, or a side is not positive.</exception>
    public static int ImageTokens(string modelType, int width, int height)
    {
        if (!PromptImages.SupportedModelTypes.Contains(modelType))
            throw new ArgumentException($"No image-token count is known for model type '{modelType}'; known: {string.Join(", ", PromptImages.SupportedModelTypes)}.", nameof(modelType));
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"Image sides must be positive ({width} × {height}).", nameof(width));
        return PromptImages.ImageTokens(width, height);
    }

    /// <summary>Bytes of phi3v's pixel values for one image: 17 crops (a global view + up to 16) × 3 × 336 × 336 fp32.</summary>
    public const long Phi3VisionPixelBytes = 17L * 3 * 336 * 336 * 4;

    /// <summary>The bytes of adapter files (their sizes on disk: an <c>.onnx_adapter</c> holds its tensors uncompressed, plus a small header).</summary>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    public static long AdapterFileBytes(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        long sum = 0;
        foreach (string path in paths)
        {
            var file = new FileInfo(path);
            if (!file.Exists) throw new FileNotFoundException($"Adapter file '{file.FullName}' does not exist.", file.FullName);
            sum += file.Length;
        }
        return sum;
    }

    /// <summary>The tensor bytes of one LoRA adapter of <paramref name="rank"/> on <paramref name="targets"/> in every layer: <see cref="TrainingPlanner.LoraParameters"/> × the element size of <paramref name="format"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The rank is not positive.</exception>
    public static long LoraAdapterBytes(ModelShape model, int rank, LoraTargets targets, NumberFormat format = NumberFormat.Fp32)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rank);
        return (long)(TrainingPlanner.LoraParameters(model, rank, targets) * format.BytesPerElement());
    }

    /// <summary>Estimates the peak memory of serving <paramref name="workload"/> with <paramref name="model"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="workload">Prompt, max length and concurrency.</param>
    /// <param name="overhead">Runtime overhead; default <see cref="RuntimeOverhead.ForCpu"/> of the model's precision.</param>
    /// <returns>Weights, embedding table, KV cache, activations and runtime overhead.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="workload"/> is null.</exception>
    /// <exception cref="ArgumentException">The shape or the workload is invalid.</exception>
    public static MemoryBreakdown Estimate(ModelShape model, InferenceWorkload workload, RuntimeOverhead? overhead = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(workload);
        model.Validate();
        workload.Validate();
        overhead ??= RuntimeOverhead.ForCpu(model.Precision);
        var inv = CultureInfo.InvariantCulture;

        long embedding = WeightBytes(model.EmbeddingParameters, model.EffectiveEmbeddingPrecision);
        long weights = ModelWeightBytes(model) - embedding;
        long residentWeights = (long)(weights * overhead.WeightFactor);
        long residentEmbedding = (long)(embedding * overhead.EmbeddingResidentFraction);
        // Image tokens lengthen the prompt and the sequence; a prompt with images is prefilled in one step.
        int prompt = workload.PromptTokens + workload.ImageTokens, maxLength = workload.MaxLength + workload.ImageTokens;
        int chunk = workload.ImageTokens > 0 ? 0 : workload.PrefillChunk;
        long kv = KvCacheBytes(model, maxLength, workload.Concurrency);
        long act = PrefillActivationBytes(model, prompt, workload.Concurrency, chunk);
        int step = chunk > 0 ? Math.Min(chunk, prompt) : prompt;
        long pixels = workload.Images * Phi3VisionPixelBytes * workload.Concurrency;
        if (overhead.Fp32LmHeadCopy)
            act += (long)model.VocabSize * model.HiddenSize * 4;

        // Why: ONNX Runtime memory-maps the external weights; at the end of session initialisation the output projection's
        // mapped pages (vocab × hidden × stored bytes, the last tensor in the file) are all resident next to its resident
        // copy, and are released only when loading finishes. KV cache and activations do not exist yet then, so the process
        // peak is the larger of this load peak and the run peak: counted here as its excess over KV + activations.
        // Measured (VmHWM, smaps of model.onnx.data): +519 MiB for the fp32 Qwen2.5-0.5B shape, +81 MiB for int4.
        long lmHead = overhead.LmHeadLoadTransient ? LmHeadStoredBytes(model) : 0;
        long loadExcess = Math.Max(0, lmHead - kv - act);

        string weightHow = model.Precision.IsQuantized()
            ? string.Create(inv, $"{(model.Parameters - model.EmbeddingParameters) / 1e6:0.0}M params; matrices {model.Precision} + {model.ScalePrecision} scale per {model.QuantizationBlockSize}")
            : string.Create(inv, $"{(model.Parameters - model.EmbeddingParameters) / 1e6:0.0}M params × {model.Precision.BytesPerElement()} B");
        if (overhead.WeightFactor != 1.0)
            weightHow += string.Create(inv, $"; × {overhead.WeightFactor:0.##} resident");

        return new MemoryBreakdown(
            string.Create(inv, $"Inference: {model}; prompt {prompt}{(workload.ImageTokens > 0 ? $" ({workload.ImageTokens} of them for {workload.Images} image(s))" : "")}, max length {maxLength}, {workload.Concurrency} sequence(s)"),
            [
                new(Weights, residentWeights, weightHow),
                new(Embedding, residentEmbedding, string.Create(inv, $"{model.VocabSize} × {model.HiddenSize} {model.EffectiveEmbeddingPrecision} = {embedding / 1048576.0:0.0} MiB × {overhead.EmbeddingResidentFraction:0.##} resident (memory-mapped: only rows of used tokens are read)")),
                new(KvCache, kv, string.Create(inv, $"2 × {model.Layers} layers × {model.KeyValueHeads} KV heads × {model.HeadSize} × {model.EffectiveKvCachePrecision.BytesPerElement()} B × {maxLength} tokens × {workload.Concurrency}")),
                new(Activations, act, string.Create(inv, $"logits {step}×{model.VocabSize} ×2{(overhead.Fp32LmHeadCopy ? " + fp32 lm_head copy" : "")}, scores {model.AttentionHeads}×{step}×{prompt}, MLP and hidden buffers, × {workload.Concurrency}")),
                new(Adapters, workload.AdapterBytes, "adapter tensors, loaded once per model"),
                new(ImageInputs, pixels, string.Create(inv, $"{workload.Images} image(s) × 17 crops × 3 × 336 × 336 × 4 B × {workload.Concurrency} (phi3v pixel values; the vision encoder's own activations are not counted)")),
                new(Runtime, overhead.FixedBytes, "process, .NET and ONNX Runtime (measured)"),
                new(LoadTransient, loadExcess, string.Create(inv, $"lm_head file pages {lmHead / 1048576.0:0.0} MiB resident while the session loads, above KV + activations (not allocated yet then)")),
            ]);
    }

    /// <summary>
    /// Recommends the largest max length (at <paramref name="concurrency"/> sequences) and the most concurrent
    /// sequences (at <paramref name="maxLength"/>) that fit in <paramref name="budgetBytes"/>. Assumes the worst
    /// case: every sequence prefilled at once with a full-length prompt (in steps of <paramref name="prefillChunk"/> tokens).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="budgetBytes">The memory budget.</param>
    /// <param name="maxLength">The max length to find a concurrency for.</param>
    /// <param name="concurrency">The concurrency to find a max length for.</param>
    /// <param name="overhead">Runtime overhead; default <see cref="RuntimeOverhead.ForCpu"/> of the model's precision.</param>
    /// <param name="prefillChunk">Prompt tokens per prefill step (<see cref="InferenceWorkload.PrefillChunk"/>); 0, the default, the whole prompt in one step.</param>
    /// <returns>The recommendation; zeros when even one token does not fit.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A number is not positive, or <paramref name="prefillChunk"/> is negative.</exception>
    public static InferenceRecommendation Recommend(ModelShape model, long budgetBytes, int maxLength, int concurrency = 1, RuntimeOverhead? overhead = null,
        int prefillChunk = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(budgetBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(concurrency);
        ArgumentOutOfRangeException.ThrowIfNegative(prefillChunk);
        model.Validate();
        overhead ??= RuntimeOverhead.ForCpu(model.Precision);

        bool Fits(int length, int streams) =>
            Estimate(model, new InferenceWorkload(length, length, streams) { PrefillChunk = prefillChunk }, overhead).DeviceBytes <= budgetBytes;

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
