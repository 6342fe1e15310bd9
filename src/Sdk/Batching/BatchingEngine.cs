using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace LocalLlm;

/// <summary>
/// Continuous (iteration-level) batching on the CPU: one thread runs the model folder's decoder
/// (<see cref="DecoderSession"/>) over every request that has a slot. Each iteration runs one prefill chunk of each of
/// the oldest joining requests (<see cref="LocalLlmChatClientOptions.PrefillChunkTokens"/> tokens, a batch-1 call on its
/// slot, up to <see cref="PrefillLanes"/> calls at once) and then one decode step for all decoding rows together, so a
/// new request joins between two decode steps, a long prompt never stalls the others for more than one chunk, and a
/// finished or cancelled row leaves at once.
/// Rows are not padded to each other: each has its own length in its own slot.
/// Shared prefixes: a slot keeps its keys and values after its row ends, and any slot's computed prefix (a running
/// row's too) is copied into a joining row's slot instead of prefilled again, so a common system prompt or a
/// conversation's history is computed once; free slots are reused least recently used first. The cache is the
/// engine's own KV memory: it costs no bytes beyond the slots.
/// </summary>
internal sealed class BatchingEngine : IDisposable
{
    private readonly LocalModel _model;
    private readonly ILogger _logger;
    private readonly Channel<Row> _incoming = Channel.CreateUnbounded<Row>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Thread _thread;
    private readonly Row?[] _rows;
    private readonly int[][] _cached;     // per free slot: the tokens whose keys and values it still holds (a reusable prefix)
    private readonly long[] _lastUsed;    // per slot: when its row ended (LRU among free slots)
    private long _clock;
    private readonly LinkedList<Row> _waiting = new();
    private readonly RunOptions _decodeRun = new();
    private readonly int _chunk;
    private readonly bool _sharePrefixes;
    private readonly (int? TopK, double? TopP, double? RepetitionPenalty) _defaults;
    private DecoderSession? _decoder;
    private float[] _logits = [];
    private readonly List<Row> _filling = [];
    private readonly float[][] _laneLogits = [.. Enumerable.Range(0, PrefillLanes).Select(_ => Array.Empty<float>())];
    private Row[] _prefilling = [];
    private long _sequence;
    private int _disposed;
    private int _submitted;
    private int _live;

    private BatchingEngine(LocalModel model, int slots, int slotLength, int chunk, bool sharePrefixes, ILogger logger)
    {
        _sharePrefixes = sharePrefixes;
        _defaults = DecoderSession.SearchDefaults(model.Info);
        _model = model;
        _logger = logger;
        _rows = new Row?[slots];
        _cached = new int[slots][];
        Array.Fill(_cached, []);
        _lastUsed = new long[slots];
        SlotLength = slotLength;
        _chunk = chunk;
        _thread = new Thread(Loop) { IsBackground = true, Name = "LocalLlm batching engine" };
    }

    /// <summary>Positions one slot holds: a request is batched only when its prompt and output fit.</summary>
    public int SlotLength { get; }

    /// <summary>Joining rows reuse prefixes computed in other slots (<see cref="LocalLlmChatClientOptions.EnableKvCacheReuse"/>).</summary>
    public bool SharesPrefixes => _sharePrefixes;

    /// <summary>Rows decoded together at most.</summary>
    public int Slots => _rows.Length;

    /// <summary>Bytes of the engine's KV buffers (charged to the client's budget for the engine's lifetime).</summary>
    public long KvBytes { get; private set; }

    /// <summary>The engine thread has ended (disposed, or a failure logged as event 1601): requests must not be sent to it.</summary>
    public bool Stopped => Volatile.Read(ref _stopped) != 0;

    private int _stopped;

    /// <summary>Requests submitted to this engine so far.</summary>
    public int Submitted => Volatile.Read(ref _submitted);

    /// <summary>Requests the engine holds now, waiting or in a slot (tests check that none leak).</summary>
    internal int LiveRequests => Volatile.Read(ref _live);

    /// <summary>Decode steps run so far (tests).</summary>
    internal int DecodeSteps { get; private set; }

    /// <summary>The most rows one decode step has run (tests).</summary>
    internal int WidestStep { get; private set; }

    /// <summary>Prefill chunks run while other rows were decoding (tests: a joining prompt interleaves with their steps).</summary>
    internal int InterleavedChunks { get; private set; }

    /// <summary>Why requests for this model cannot be batched, or null when they can.</summary>
    public static string? Unsupported(ModelInfo info) =>
        info.Provider != ExecutionProvider.Cpu ? $"the engine runs on the CPU and this model runs on {info.Provider}"
        : !info.SharesKvBuffer ? "the model does not use GroupQueryAttention with a shared KV buffer (per-row lengths come from GQA's seqlens)"
        : null;

    /// <summary>
    /// Slots and slot length for a client: one slot per admitted request up to 16 (a decode step over more rows gains
    /// little on a CPU), and slots × slot length × KV bytes per token within half of
    /// <see cref="LocalLlmChatClientOptions.KvCacheBudgetBytes"/>, in steps of 256 positions, at most the context.
    /// </summary>
    public static (int Slots, int SlotLength) Size(ModelInfo info, LocalLlmChatClientOptions options)
    {
        int slots = Math.Clamp(options.MaxConcurrentRequests, 1, MaxSlots);
        long perSlot = options.KvCacheBudgetBytes / 2 / slots / Math.Max(1, info.KvBytesPerToken);
        int length = (int)Math.Min(info.ContextLength, perSlot / SlotStep * SlotStep);
        return (slots, length);
    }

    /// <summary>Most slots an engine gets.</summary>
    public const int MaxSlots = 16;

    /// <summary>Slot lengths are multiples of this; a budget that leaves less per slot turns the engine off.</summary>
    public const int SlotStep = 256;

    /// <summary>Why the engine cannot serve this request exactly as its own generator would, or null when it can.</summary>
    /// <remarks>
    /// The engine samples each row itself (greedy, temperature, top-k, top-p, repetition penalty, minimum length, a
    /// per-row seed). It has no guidance (grammars, JSON schema, ToolMode Required), no beams, candidates or
    /// log-probabilities, no no-repeat n-grams and no LoRA adapters: those run on their own generator.
    /// </remarks>
    public string? Refuses(GenerationSettings s, int promptLength) =>
        s.NumBeams > 1 ? "beam search"
        : s.CandidateCount > 1 ? "several candidates"
        : s.Guidance is not null ? "a grammar (JSON schema, regex, Lark or ToolMode Required)"
        : s.LogProbabilities ? "log-probabilities"
        : s.Adapter is not null ? "a LoRA adapter"
        : s.NoRepeatNgramSize is > 0 ? "no_repeat_ngram_size"
        : (long)promptLength + s.MaxOutputTokens > SlotLength - 1 ? $"prompt + MaxOutputTokens exceed a batch slot ({SlotLength - 1} tokens)"
        : null;

    /// <summary>What one batched request is charged besides the engine's KV buffers: its logits row and state, as a generator's without KV.</summary>
    public static long RowBytes(ModelInfo info) => CachedGenerator.Footprint(info, 0);

    /// <summary>Starts the engine thread and opens the decoder on it.</summary>
    /// <param name="model">The loaded model (its folder's decoder is opened again here).</param>
    /// <param name="slots">Rows (<see cref="Size"/>).</param>
    /// <param name="slotLength">Positions per slot (<see cref="Size"/>).</param>
    /// <param name="chunk">Prompt tokens per prefill call.</param>
    /// <param name="sharePrefixes">Reuse prefixes computed in other slots (<see cref="LocalLlmChatClientOptions.EnableKvCacheReuse"/>).</param>
    /// <param name="logger">Receives the engine's failures.</param>
    /// <exception cref="NotSupportedException">The decoder graph is not one the engine drives.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime could not load the decoder.</exception>
    public static BatchingEngine Start(LocalModel model, int slots, int slotLength, int chunk, bool sharePrefixes, ILogger logger)
    {
        var engine = new BatchingEngine(model, slots, slotLength, chunk, sharePrefixes, logger);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        engine._thread.Start(started);
        started.Task.GetAwaiter().GetResult();
        return engine;
    }

    /// <summary>Queues a request; read its tokens from the result.</summary>
    /// <exception cref="ObjectDisposedException">The engine was disposed.</exception>
    public Row Submit(int[] prompt, GenerationSettings settings)
    {
        // Unset top-k, top-p and repetition penalty take the folder's search values, as a generator's do.
        settings = settings with
        {
            TopK = settings.TopK ?? _defaults.TopK,
            TopP = settings.TopP ?? _defaults.TopP,
            RepetitionPenalty = settings.RepetitionPenalty ?? _defaults.RepetitionPenalty,
        };
        var row = new Row(prompt, settings, new RowSampler(settings, _model.Info.EosTokenIds, prompt), Interlocked.Increment(ref _sequence));
        Interlocked.Increment(ref _live);
        if (!_incoming.Writer.TryWrite(row))
        {
            Interlocked.Decrement(ref _live);
            row.TryEnd();
            throw new ObjectDisposedException(nameof(BatchingEngine));
        }
        Interlocked.Increment(ref _submitted);
        return row;
    }

    /// <summary>Ends every request (they fail with <see cref="OperationCanceledException"/>), stops the running step and frees the KV buffers.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _incoming.Writer.TryComplete();
        // Abort the step in flight (ONNX Runtime checks the flag between nodes); the thread frees everything after it.
        _decodeRun.Terminate = true;
        foreach (var row in Volatile.Read(ref _prefilling)) row.Cancel();
        if (_thread.IsAlive && !_thread.Join(TimeSpan.FromSeconds(30))) return; // never free what a running step may still touch
        _decodeRun.Dispose();
    }

    private void Loop(object? state)
    {
        var started = (TaskCompletionSource)state!;
        try
        {
            _decoder = DecoderSession.Open(_model.Info, _rows.Length, SlotLength);
            KvBytes = _decoder.KvBytes;
        }
        catch (Exception e)
        {
            started.SetException(e);
            return;
        }
        started.SetResult();

        Exception? fatal = null;
        try
        {
            while (Volatile.Read(ref _disposed) == 0)
            {
                while (_incoming.Reader.TryRead(out var row)) _waiting.AddLast(row);
                DropCancelled();
                AssignSlots();
                SelectRowsToFill();
                if (_filling.Count == 0 && !AnyDecoding())
                {
                    // Idle: block this (dedicated) thread until the next request, or end when the engine is disposed.
                    if (!_incoming.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()) break;
                    continue;
                }
                if (_filling.Count > 0)
                {
                    if (AnyDecoding()) InterleavedChunks++;
                    PrefillChunks();
                }
                if (AnyDecoding()) DecodeStep();
            }
        }
        catch (Exception e)
        {
            fatal = e;
            Log.BatchingEngineFailed(_logger, _model.Info.Id, e);
        }
        finally
        {
            Volatile.Write(ref _stopped, 1);
            Exception Ended() => fatal is not null && Volatile.Read(ref _disposed) == 0
                ? new InvalidOperationException($"The batching engine stopped: {fatal.Message} Set LocalLlmChatClientOptions.Batching = Off to run every request on its own generator.", fatal)
                : new OperationCanceledException("The chat client was disposed.");
            for (int i = 0; i < _rows.Length; i++) if (_rows[i] is { } r) Finish(r, Ended());
            foreach (var r in _waiting) Finish(r, Ended());
            _waiting.Clear();
            _incoming.Writer.TryComplete();
            while (_incoming.Reader.TryRead(out var r)) Finish(r, Ended());
            _decoder.Dispose();
        }
    }

    private bool AnyDecoding()
    {
        foreach (var r in _rows) if (r is { Decoding: true }) return true;
        return false;
    }

    private void DropCancelled()
    {
        for (int i = 0; i < _rows.Length; i++)
            if (_rows[i] is { Cancelled: true } r) Finish(r, new OperationCanceledException("The request was cancelled."));
        for (var node = _waiting.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.Cancelled)
            {
                _waiting.Remove(node);
                Finish(node.Value, new OperationCanceledException("The request was cancelled."));
            }
            node = next;
        }
    }

    /// <summary>
    /// Waiting requests take free slots in arrival order: the free slot whose kept prefix is the longest prefix of the
    /// prompt (used in place), else the least recently used one.
    /// </summary>
    private void AssignSlots()
    {
        while (_waiting.First is { } first)
        {
            var row = first.Value;
            int slot = -1, best = 0;
            for (int i = 0; i < _rows.Length; i++)
            {
                if (_rows[i] is not null) continue;
                int common = _sharePrefixes ? Common(row.Prompt, _cached[i], _cached[i].Length) : 0;
                if (slot < 0 || common > best || (common == best && _lastUsed[i] < _lastUsed[slot])) (slot, best) = (i, common);
            }
            if (slot < 0) return; // every slot is busy
            _waiting.RemoveFirst();
            row.Slot = slot;
            row.Length = row.Prefilled = best;
            _cached[slot] = [];
            _rows[slot] = row;
        }
    }

    /// <summary>Leading tokens of <paramref name="prompt"/> found in <paramref name="tokens"/>[..valid], leaving at least one prompt token to run (for its logits).</summary>
    private static int Common(int[] prompt, ReadOnlySpan<int> tokens, int valid) =>
        prompt.AsSpan(0, Math.Min(prompt.Length - 1, valid)).CommonPrefixLength(tokens[..Math.Min(valid, tokens.Length)]);

    /// <summary>
    /// Before a prefill chunk: when another slot (free, or a running row's computed positions) holds a longer prefix of
    /// this row's prompt than the row has, copies it over and skips those tokens.
    /// </summary>
    private void CatchUp(Row row)
    {
        if (!_sharePrefixes) return;
        int best = row.Length, source = -1;
        for (int i = 0; i < _rows.Length; i++)
        {
            if (i == row.Slot) continue;
            int common = _rows[i] is { } other ? Common(row.Prompt, other.HeldTokens(), other.Length) : Common(row.Prompt, _cached[i], _cached[i].Length);
            if (common > best) (best, source) = (common, i);
        }
        if (source < 0) return;
        _decoder!.CopyPrefix(source, row.Slot, best);
        row.Length = row.Prefilled = best;
    }

    /// <summary>
    /// This iteration's prefill rows: the oldest rows still prefilling, up to <see cref="PrefillLanes"/>, each first
    /// caught up to the longest prefix another slot holds. A row whose prompt shares more with an older prefilling
    /// row's prompt than it holds waits for that row to compute the shared part, then copies it (so a system prompt
    /// that several joining users share is computed once).
    /// </summary>
    private void SelectRowsToFill()
    {
        _filling.Clear();
        var prefilling = _rows.Where(r => r is { Decoding: false }).Select(r => r!).OrderBy(r => r.Sequence).ToList();
        for (int i = 0; i < prefilling.Count && _filling.Count < PrefillLanes; i++)
        {
            var row = prefilling[i];
            CatchUp(row);
            bool waits = false;
            for (int j = 0; j < i && !waits; j++) waits = Common(row.Prompt, prefilling[j].Prompt, prefilling[j].Prompt.Length) > row.Length;
            if (!waits) _filling.Add(row);
        }
    }

    /// <summary>
    /// Prefill chunks run at once at most: two per core, 2 to 8. One ONNX Runtime call of a 32-token chunk leaves part
    /// of the CPU idle, and calls on different slots touch disjoint KV memory, so the chunks of several joining rows run
    /// together on one session. Measured on 2 cores, 8 joining ~450-token prompts: 1.7× the prefill throughput of one
    /// lane with 2 lanes, 2× with 4, no more with 8. Each lane holds its chunk's logits (chunk × vocabulary floats).
    /// </summary>
    internal static int PrefillLanes { get; } = Math.Clamp(2 * Environment.ProcessorCount, 2, 8);

    /// <summary>Runs one chunk of each row in <see cref="_filling"/> (concurrently when there are several), then advances them on this thread.</summary>
    private void PrefillChunks()
    {
        var rows = _filling;
        int[] counts = new int[rows.Count];
        var errors = new Exception?[rows.Count];
        var logits = _laneLogits;
        Volatile.Write(ref _prefilling, [.. rows]);
        void Chunk(int i)
        {
            var row = rows[i];
            counts[i] = Math.Min(_chunk, row.Prompt.Length - row.Prefilled);
            try
            {
                _decoder!.Prefill(row.Slot, row.Prompt.AsSpan(row.Prefilled, counts[i]), row.Length, row.PrefillRun, ref logits[i]);
            }
            catch (Exception e) when (e is OnnxRuntimeException or ObjectDisposedException)
            {
                errors[i] = e;
            }
        }
        try
        {
            // Each chunk is a blocking native call: dedicated threads, so the thread pool's slow growth never serialises them.
            var others = Enumerable.Range(1, rows.Count - 1).Select(i => Task.Factory.StartNew(() => Chunk(i), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
            Chunk(0);
            Task.WaitAll(others);
        }
        finally
        {
            Volatile.Write(ref _prefilling, []);
        }
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            if (errors[i] is { } e)
            {
                // Cancelled or disposed mid-chunk: the request ends cancelled; any other failure is this prompt's alone, the others go on.
                Finish(row, row.Cancelled || Volatile.Read(ref _disposed) != 0 ? new OperationCanceledException("The request was cancelled.") : e);
                continue;
            }
            row.Prefilled += counts[i];
            row.Length += counts[i];
            row.OwnPrefill += counts[i];
            if (row.Prefilled < row.Prompt.Length) continue;
            row.Reused = row.Prompt.Length - row.OwnPrefill;
            row.Decoding = true;
            Emit(row, row.Sampler.Next(logits[i].AsSpan(0, _decoder!.Vocab), 0));
        }
    }

    /// <summary>One step over slots [0, last decoding slot]: slots in between that are not decoding ride along as dummy rows.</summary>
    /// <remarks>
    /// A dummy row feeds token 0 at its slot's own length (0 for an empty slot), so it writes only the position its
    /// slot's next prefill chunk overwrites: nothing valid changes. On a CPU an extra row costs little next to reading
    /// the weights, and no slot memory moves when rows come and go.
    /// </remarks>
    private void DecodeStep()
    {
        int span = 0;
        for (int i = 0; i < _rows.Length; i++) if (_rows[i] is { Decoding: true }) span = i + 1;
        int[] tokens = new int[span], lengths = new int[span];
        for (int i = 0; i < span; i++)
        {
            var r = _rows[i];
            tokens[i] = r is { Decoding: true } ? r.Last : 0;
            lengths[i] = r?.Length ?? _cached[i].Length; // a dummy writes just past what its slot holds
        }
        try
        {
            _decoder!.Decode(tokens, lengths, _decodeRun, ref _logits);
        }
        catch (Exception e) when (e is OnnxRuntimeException or ObjectDisposedException && Volatile.Read(ref _disposed) != 0)
        {
            return; // disposing: the loop ends every row
        }
        DecodeSteps++;
        WidestStep = Math.Max(WidestStep, span);
        int vocab = _decoder.Vocab;
        for (int i = 0; i < span; i++)
        {
            if (_rows[i] is not { Decoding: true } r) continue;
            r.Length++;
            Emit(r, r.Sampler.Next(_logits.AsSpan(i * vocab, vocab), r.Generated));
        }
    }

    private void Emit(Row row, int token)
    {
        row.Generated++;
        row.Last = token;
        row.Output.Add(token);
        if (row.Generated >= row.Settings.MaxOutputTokens || _model.Info.EosTokenIds.Contains(token)) Finish(row, null, token);
        else row.Tokens.Writer.TryWrite(token);
    }

    /// <summary>Frees the row's slot (keeping its prefix), counts it gone, then writes its last token (if any) and completes its stream, so a reader that sees the end never sees it still live.</summary>
    private void Finish(Row row, Exception? error, int? lastToken = null)
    {
        if (row.Slot >= 0 && ReferenceEquals(_rows[row.Slot], row))
        {
            _rows[row.Slot] = null;
            // The positions it computed stay valid for the next row (a cancelled chunk never advanced the length); a failure keeps nothing.
            _cached[row.Slot] = error is null or OperationCanceledException ? row.HeldTokens() : [];
            _lastUsed[row.Slot] = ++_clock;
        }
        if (!row.TryEnd()) return;
        Interlocked.Decrement(ref _live);
        if (lastToken is { } t) row.Tokens.Writer.TryWrite(t);
        if (error is null) row.Tokens.Writer.TryComplete();
        else row.Tokens.Writer.TryComplete(error);
    }

    /// <summary>One request in the engine: its prompt and settings in, its sampled tokens out.</summary>
    internal sealed class Row(int[] prompt, GenerationSettings settings, RowSampler sampler, long sequence)
    {
        private readonly Lock _gate = new();
        private bool _ended;
        private volatile bool _cancelled;

        public int[] Prompt { get; } = prompt;
        public GenerationSettings Settings { get; } = settings;
        public RowSampler Sampler { get; } = sampler;
        public long Sequence { get; } = sequence;

        /// <summary>Sampled tokens in order; completes when the row ends (with an exception when it failed or was cancelled).</summary>
        public Channel<int> Tokens { get; } = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        /// <summary>Prompt tokens taken from a cached prefix instead of prefilled (set before the first token).</summary>
        public int Reused { get; internal set; }

        public bool Cancelled => _cancelled;

        internal RunOptions PrefillRun { get; } = new();
        internal int Slot { get; set; } = -1;
        internal int Length { get; set; }
        internal int Prefilled { get; set; }
        internal int Generated { get; set; }
        internal int Last { get; set; }
        internal bool Decoding { get; set; }

        /// <summary>Prompt tokens this row ran through the model itself (the rest were copied from another slot).</summary>
        internal int OwnPrefill { get; set; }

        /// <summary>Sampled tokens so far.</summary>
        internal List<int> Output { get; } = [];

        /// <summary>The tokens whose keys and values its slot holds: the first <see cref="Length"/> of prompt + output.</summary>
        internal int[] HeldTokens() => Length <= Prompt.Length ? Prompt[..Length] : [.. Prompt, .. Output.Take(Length - Prompt.Length)];

        /// <summary>Stops the row at the next step (and aborts its prefill chunk in flight); safe from any thread, more than once, or after it ended.</summary>
        public void Cancel()
        {
            _cancelled = true;
            lock (_gate)
                if (!_ended) PrefillRun.Terminate = true;
        }

        /// <summary>Marks the row ended once (the caller then completes its stream); false when it had already ended.</summary>
        internal bool TryEnd()
        {
            lock (_gate)
            {
                if (_ended) return false;
                _ended = true;
                PrefillRun.Dispose();
            }
            return true;
        }
    }
}
