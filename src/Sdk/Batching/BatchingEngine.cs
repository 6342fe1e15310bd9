using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntimeGenAI;
using static LocalLlm.NativeEngine;

namespace LocalLlm;

/// <summary>
/// Batches concurrent requests through ORT GenAI's native Engine (static batching: the engine pads the prompts of the
/// requests it holds into one batch and decodes them together, one model run per token for all of them).
/// The native engine, its event buffer and its requests may only be touched by the thread that created them, so one
/// dedicated owner thread runs the engine loop: requests are posted to it through a channel, and each request's
/// tokens flow back through its own channel. Cancelling a request cancels its turn in the engine; the others go on.
/// </summary>
internal sealed class BatchingEngine : IDisposable
{
    private const int EventCapacity = 256;

    private readonly LocalModel _model;
    private readonly ILogger _logger;
    private readonly Channel<Command> _commands = Channel.CreateUnbounded<Command>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Thread _owner;
    private int _disposed;
    private int _submitted;

    private int _live;

    /// <summary>Native requests this engine holds now (tests check that none leak).</summary>
    internal int LiveRequests => Volatile.Read(ref _live);

    private BatchingEngine(LocalModel model, ILogger logger)
    {
        _model = model;
        _logger = logger;
        _owner = new Thread(OwnerLoop) { IsBackground = true, Name = "LocalLlm batching engine" };
    }

    /// <summary>Why requests for this model cannot be batched, or null when they can.</summary>
    public static string? Unsupported(ModelInfo info) =>
        info.SharesKvBuffer ? null
        : "the model does not use GroupQueryAttention with a shared KV buffer; padded rows of a batch gave wrong tokens with plain attention";

    /// <summary>True when the engine can honour every setting of the request exactly as the per-request generator does.</summary>
    /// <remarks>
    /// A static engine has no per-turn seed, stop strings or guidance, and batching has no place for beams, several
    /// candidates or log-probabilities. No-repeat n-grams are left to the generator path too (not verified here). The
    /// engine has no per-request LoRA adapter, so a request with one runs on its own generator.
    /// </remarks>
    public static bool Accepts(GenerationSettings s, ModelInfo info) =>
        s.NumBeams == 1 && s.CandidateCount == 1 && s.Guidance is null && !s.LogProbabilities && s.Seed is null && s.Adapter is null
        && s.NoRepeatNgramSize is null or 0 && (s.TopK ?? 0) <= info.VocabSize;

    /// <summary>Starts the owner thread and creates the native engine on it.</summary>
    /// <exception cref="OnnxRuntimeGenAIException">The native engine could not be created for this model.</exception>
    public static BatchingEngine Start(LocalModel model, ILogger logger)
    {
        var engine = new BatchingEngine(model, logger);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        engine._owner.Start(started);
        started.Task.GetAwaiter().GetResult();
        return engine;
    }

    /// <summary>Requests submitted to this engine so far.</summary>
    public int Submitted => Volatile.Read(ref _submitted);

    /// <summary>Queues a request's prompt as one turn; read its tokens from the result.</summary>
    /// <exception cref="ObjectDisposedException">The engine was disposed.</exception>
    public Turn Submit(int[] prompt, GenerationSettings settings)
    {
        Interlocked.Increment(ref _submitted);
        var turn = new Turn(this, prompt, settings, (int)Math.Min(_model.Info.ContextLength, (long)prompt.Length + settings.MaxOutputTokens));
        ObjectDisposedException.ThrowIf(!_commands.Writer.TryWrite(turn), this);
        return turn;
    }

    /// <summary>Ends every request (they fail with <see cref="OperationCanceledException"/>) and releases the engine on its thread.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _commands.Writer.TryComplete();
    }

    private void OwnerLoop(object? state)
    {
        var started = (TaskCompletionSource)state!;
        EngineHandle engine;
        EventBufferHandle buffer;
        try
        {
            using (_model.Acquire())
            {
                Check(OgaCreateEngine(ModelPointer(_model.NativeModel), out engine), "OgaCreateEngine");
            }
            Check(OgaCreateEngineEventBuffer(engine, EventCapacity, out buffer), "OgaCreateEngineEventBuffer");
        }
        catch (Exception e)
        {
            started.SetException(e);
            return;
        }
        started.SetResult();

        var active = new Dictionary<nint, Turn>();
        try
        {
            while (true)
            {
                while (_commands.Reader.TryRead(out var command)) Handle(command, engine, active);
                if (active.Count == 0 || !Pending(engine))
                {
                    FailAll(active, () => new InvalidOperationException("The batching engine reported no pending work for requests that had not finished."));
                    // Idle: block this (dedicated) thread until the next command, or end when the channel is completed.
                    if (!_commands.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()) break;
                    continue;
                }
                Check(OgaEngineRun(engine, buffer), "OgaEngineRun");
                Dispatch(buffer, active);
            }
        }
        catch (Exception e)
        {
            FailAll(active, () => e);
        }
        finally
        {
            FailAll(active, () => new OperationCanceledException("The chat client was disposed."));
            while (_commands.Reader.TryRead(out var command))
                if (command is Turn t) t.Fail(new OperationCanceledException("The chat client was disposed."));
            buffer.Dispose();
            engine.Dispose();
        }
    }

    private static bool Pending(EngineHandle engine)
    {
        Check(OgaEngineHasPendingRequests(engine, out bool pending), "OgaEngineHasPendingRequests");
        return pending;
    }

    private void Handle(Command command, EngineHandle engine, Dictionary<nint, Turn> active)
    {
        switch (command)
        {
            case Turn turn:
                try
                {
                    turn.Begin(engine);
                    active.Add(turn.Key, turn);
                    Interlocked.Increment(ref _live);
                }
                catch (Exception e)
                {
                    turn.Fail(e);
                }
                break;
            // The same turn, not only the same key: a finished turn's native address can be reused by a newer one, and a
            // cancel for the finished turn must not reach its disposed request handle.
            case Cancel cancel when active.TryGetValue(cancel.Turn.Key, out var running) && ReferenceEquals(running, cancel.Turn) && cancel.Turn.Request is { IsClosed: false }:
                // The engine answers with one terminal Cancelled event; Dispatch ends the request then.
                try
                {
                    Check(OgaRequestCancelTurn(cancel.Turn.Request!, cancel.Turn.Id, out _), "OgaRequestCancelTurn");
                }
                catch (ObjectDisposedException)
                {
                    // The request ended (and freed its handle) between the check above and the call: nothing to cancel.
                }
                break;
        }
    }

    private void Dispatch(EventBufferHandle buffer, Dictionary<nint, Turn> active)
    {
        nuint count = OgaEngineEventBufferGetCount(buffer);
        for (nuint i = 0; i < count; i++)
        {
            nint e = OgaEngineEventBufferGet(buffer, i);
            Check(OgaEngineEventGetFlags(e, out uint flags), "OgaEngineEventGetFlags");
            Check(OgaEngineEventGetRequest(e, out nint request), "OgaEngineEventGetRequest");
            if (!active.TryGetValue(request, out var turn)) continue; // a request closed earlier
            if ((flags & FlagToken) != 0)
            {
                Check(OgaEngineEventGetToken(e, out int token), "OgaEngineEventGetToken");
                turn.Tokens.Writer.TryWrite(token);
            }
            if ((flags & (FlagTurnFinished | FlagFailed)) == 0) continue;
            Check(OgaEngineEventGetFinishReason(e, out var reason), "OgaEngineEventGetFinishReason");
            Exception? error = null;
            if ((flags & FlagFailed) != 0 || reason == FinishReason.Failed)
            {
                Check(OgaEngineEventGetErrorCode(e, out uint code), "OgaEngineEventGetErrorCode");
                error = new InvalidOperationException($"The batching engine failed the request (ORT GenAI error code {code}). Set LocalLlmChatClientOptions.Batching = Off to run it on its own generator.");
                Log.BatchedRequestFailed(_logger, code);
            }
            else if (reason == FinishReason.Cancelled)
            {
                error = new OperationCanceledException("The request was cancelled.");
            }
            active.Remove(request);
            End(turn, reason, error);
        }
    }

    private void FailAll(Dictionary<nint, Turn> active, Func<Exception> error)
    {
        foreach (var turn in active.Values) End(turn, FinishReason.Failed, error());
        active.Clear();
    }

    private void End(Turn turn, FinishReason reason, Exception? error)
    {
        turn.Reason = reason;
        // Close is idempotent and frees the engine's side now; the handle release is the caller-owned part.
        Check(OgaRequestClose(turn.Request!), "OgaRequestClose");
        turn.Request!.Dispose();
        Interlocked.Decrement(ref _live);
        if (error is null) turn.Tokens.Writer.TryComplete();
        else turn.Tokens.Writer.TryComplete(error);
    }

    internal abstract class Command;

    private sealed class Cancel(Turn turn) : Command
    {
        public Turn Turn { get; } = turn;
    }

    /// <summary>One request's single turn: its prompt and settings in, its tokens out.</summary>
    internal sealed class Turn(BatchingEngine engine, int[] prompt, GenerationSettings settings, int sessionTokens) : Command
    {
        private int _cancelled;

        /// <summary>Sampled tokens in order; completes when the turn ends (with an exception when it failed or was cancelled).</summary>
        public Channel<int> Tokens { get; } = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        /// <summary>Why the engine ended the turn; valid once <see cref="Tokens"/> completed.</summary>
        public FinishReason Reason { get; internal set; }

        internal RequestHandle? Request { get; private set; }
        internal ulong Id { get; private set; }
        internal nint Key => Request?.DangerousGetHandle() ?? 0;

        /// <summary>Asks the owner thread to cancel this turn (safe to call more than once, or after it ended).</summary>
        public void Cancel()
        {
            if (Interlocked.Exchange(ref _cancelled, 1) == 0) engine._commands.Writer.TryWrite(new Cancel(this));
        }

        internal void Fail(Exception e) => Tokens.Writer.TryComplete(e);

        /// <summary>On the owner thread: creates the native request and begins its turn with the request's settings.</summary>
        internal void Begin(EngineHandle owner)
        {
            Check(OgaCreateRequestOptions(out var requestOptions), "OgaCreateRequestOptions");
            using (requestOptions)
            {
                Check(OgaRequestOptionsSetMaxSessionTokens(requestOptions, (ulong)sessionTokens), "OgaRequestOptionsSetMaxSessionTokens");
                Check(OgaEngineCreateRequest(owner, requestOptions, out var request), "OgaEngineCreateRequest");
                Request = request;
            }
            try
            {
                Check(OgaRequestCreateTurnOptions(Request, out var turnOptions), "OgaRequestCreateTurnOptions");
                using (turnOptions)
                {
                    Apply(turnOptions, settings);
                    Check(OgaRequestBeginTurn(Request, turnOptions, prompt, (ulong)prompt.Length, out ulong id), "OgaRequestBeginTurn");
                    Id = id;
                }
            }
            catch
            {
                Request.Dispose();
                throw;
            }
        }

        /// <summary>The same search options <see cref="SearchOptions.Apply"/> gives a generator; unset ones keep the model's defaults in both.</summary>
        private static void Apply(TurnOptionsHandle o, GenerationSettings s)
        {
            Check(OgaTurnOptionsSetMaxGeneratedTokens(o, (ulong)s.MaxOutputTokens), "OgaTurnOptionsSetMaxGeneratedTokens");
            // The generator's min_length is capped by its max_length; the engine rejects a minimum above the maximum.
            if (s.MinOutputTokens is > 0 and { } min) Check(OgaTurnOptionsSetMinGeneratedTokens(o, (ulong)Math.Min(min, s.MaxOutputTokens)), "OgaTurnOptionsSetMinGeneratedTokens");
            Check(OgaTurnOptionsSetDoSample(o, s.DoSample), "OgaTurnOptionsSetDoSample");
            if (s.DoSample)
            {
                Check(OgaTurnOptionsSetTemperature(o, (float)(s.Temperature ?? 1.0)), "OgaTurnOptionsSetTemperature");
                if (s.TopP is { } topP) Check(OgaTurnOptionsSetTopP(o, (float)topP), "OgaTurnOptionsSetTopP");
                if (s.TopK is { } topK) Check(OgaTurnOptionsSetTopK(o, topK), "OgaTurnOptionsSetTopK");
            }
            if (s.RepetitionPenalty is { } rp) Check(OgaTurnOptionsSetRepetitionPenalty(o, (float)rp), "OgaTurnOptionsSetRepetitionPenalty");
        }
    }
}
