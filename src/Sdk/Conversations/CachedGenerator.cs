using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm;

/// <summary>
/// One ORT GenAI Generator and the KV cache it holds, owned by one request at a time and parked in the
/// <see cref="KvCachePool"/> between requests. It keeps the model's native objects alive while it exists.
/// </summary>
internal sealed class CachedGenerator : IDisposable
{
    private readonly GeneratorParams _params;
    private readonly LocalModel.Lease _lease;
    private int _disposed;

    private CachedGenerator(LocalModel model, GenerationSettings settings, int promptLength, int maxLength, GeneratorKey? key)
    {
        _lease = model.Acquire();
        try
        {
            _params = new GeneratorParams(model.NativeModel);
            SearchOptions.Apply(_params, settings, maxLength, promptLength);
            Generator = RequestValidation.CreateGenerator(model, _params, settings);
        }
        catch
        {
            _params?.Dispose();
            _lease.Dispose();
            throw;
        }
        Key = key;
        MaxLength = maxLength;
        _info = model.Info;
    }

    private readonly ModelInfo _info;

    public Generator Generator { get; }

    /// <summary>The search options it was created with; null when it must not be reused.</summary>
    public GeneratorKey? Key { get; }

    /// <summary>The max_length it was created with: the longest sequence it can hold.</summary>
    public int MaxLength { get; }

    /// <summary>GQA with a shared past/present buffer: the KV buffer is allocated for <see cref="MaxLength"/> up front.</summary>
    public bool SharesBuffer => _info.SharesKvBuffer;

    /// <summary>The token sequence when it was last parked.</summary>
    public int[] Tokens { get; private set; } = [];

    /// <summary>Leading tokens of <see cref="Tokens"/> whose keys and values are in the cache.</summary>
    public int Computed { get; private set; }

    /// <summary>The conversation it last served, if the request named one.</summary>
    public string? ConversationId { get; set; }

    /// <summary>Set when a request stopped it mid-step (terminate flag, native error): its state is unknown, never reuse it.</summary>
    public bool Broken { get; set; }

    /// <summary>Bytes it holds (<see cref="Footprint"/>): the whole allocation with a shared buffer, else the cached tokens.</summary>
    public long Bytes => Footprint(_info, SharesBuffer ? MaxLength : Tokens.Length);

    /// <summary>Native bytes outside the KV cache that every generator holds (ORT GenAI state, input and position buffers).</summary>
    internal const long FixedOverheadBytes = 128 * 1024;

    /// <summary>
    /// What one generator holding <paramref name="tokens"/> KV positions keeps resident, as measured (RSS per cached
    /// generator, docs/kv-cache.md): the KV cache (twice over without a shared buffer: past and present tensors are
    /// separate), the logits of its last step and a working copy (2 × vocab × 4 bytes), and
    /// <see cref="FixedOverheadBytes"/>. The admission budget and the pool charge this, not the KV bytes alone.
    /// </summary>
    internal static long Footprint(ModelInfo info, int tokens) =>
        (info.SharesKvBuffer ? 1 : 2) * info.KvBytesPerToken * tokens + 2L * info.VocabSize * sizeof(float) + FixedOverheadBytes;

    public static CachedGenerator Create(LocalModel model, GenerationSettings settings, int promptLength, int maxLength, GeneratorKey? key) =>
        new(model, settings, promptLength, maxLength, key);

    /// <summary>
    /// How many leading prompt tokens can stay in the cache: the common prefix, at most <see cref="Computed"/>
    /// (one less without a shared buffer: ORT GenAI 0.18 refuses to rewind a Concat cache to its full length), and
    /// at least one prompt token is always appended to get logits.
    /// </summary>
    public int ReusableLength(ReadOnlySpan<int> prompt)
    {
        int limit = Math.Min(Computed - (SharesBuffer ? 0 : 1), prompt.Length - 1);
        if (limit <= 0) return 0;
        return prompt[..limit].CommonPrefixLength(Tokens.AsSpan(0, limit));
    }

    /// <summary>Rewinds to the reusable prefix and appends the rest of <paramref name="prompt"/> through <paramref name="loop"/>; returns the tokens reused.</summary>
    /// <exception cref="OperationCanceledException">Cancelled before or during a chunk.</exception>
    public int Prefill(int[] prompt, TokenLoop loop)
    {
        int reused = ReusableLength(prompt);
        if (Tokens.Length > 0) Generator.RewindTo((ulong)reused);
        loop.Prefill(prompt.AsSpan(reused), LocalLlm.Prefill.ChunkFor(_info));
        return reused;
    }

    /// <summary>Gives this new generator an image prompt (<see cref="LocalLlm.Prefill.SetInputs"/>); nothing is reused.</summary>
    /// <exception cref="InvalidOperationException">The processor built another number of prompt tokens than LocalLlm counted (the prompt was sized and admitted by that count).</exception>
    public int Prefill(ImageInputs images, int promptLength, CancellationToken cancellationToken)
    {
        LocalLlm.Prefill.SetInputs(Generator, images, cancellationToken);
        ulong count = Generator.TokenCount();
        if (count != (ulong)promptLength)
            throw new InvalidOperationException($"The image processor of '{_info.Id}' made a prompt of {count} tokens where LocalLlm counted {promptLength}; this model's processor is not the phi3v one LocalLlm knows. Report it with the model folder.");
        return 0;
    }

    /// <summary>Records the sequence before parking: the next request matches its prompt against it.</summary>
    /// <param name="sampledLength">Prompt tokens plus tokens sampled by the request.</param>
    /// <remarks>
    /// The last sampled token is in the sequence but has not been run through the model yet, except an end token:
    /// ORT GenAI does not append that one, so then every token of the sequence is in the cache.
    /// </remarks>
    public void Snapshot(int sampledLength)
    {
        Tokens = Generator.GetSequence(0).ToArray();
        Computed = Tokens.Length < sampledLength ? Tokens.Length : Math.Max(0, Tokens.Length - 1);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Generator.Dispose();
        _params.Dispose();
        _lease.Dispose();
    }
}
