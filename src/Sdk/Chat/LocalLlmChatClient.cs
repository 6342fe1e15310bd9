using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm;

/// <summary>
/// An <see cref="IChatClient"/> over a local ONNX Runtime GenAI model. Thread-safe: each request gets its own
/// generator on its own thread; <see cref="LocalLlmChatClientOptions.MaxConcurrentRequests"/> run at once within the
/// KV-cache budget and the rest wait in a bounded FIFO queue. Generators are cached and reused when a prompt extends
/// a cached sequence (docs/kv-cache.md, docs/concurrency.md). With <see cref="ChatOptions.ConversationId"/> the
/// client remembers the history, so callers may send only the new messages. The README has the table of which
/// <see cref="ChatOptions"/> are honoured and how.
/// </summary>
public sealed class LocalLlmChatClient : IChatClient
{
    private readonly LocalModel _model;
    private readonly bool _ownsModel;
    private readonly LocalLlmChatClientOptions _options;
    private readonly LocalLlmTelemetry _ownedTelemetry;
    private readonly ModelTelemetry _telemetry;
    private readonly bool _ownsTelemetry;
    private readonly ILogger _logger;
    private readonly KvCachePool? _pool;
    private readonly RequestScheduler _scheduler;
    private readonly ConversationStore _conversations;
    private readonly CancellationTokenSource _disposing = new();
    private readonly Lazy<BatchingEngine?> _batching;
    private readonly HashSet<string> _adapters;
    private int _disposed;

    /// <summary>Creates a client over a loaded model (the model is not disposed with the client).</summary>
    /// <param name="model">The model; share one per folder.</param>
    /// <param name="options">Client behaviour; null for defaults.</param>
    /// <param name="telemetry">Instruments; null to create our own meter.</param>
    /// <param name="logger">Logger; null for none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="ArgumentException">An adapter in <see cref="LocalLlmChatClientOptions.Adapters"/> is missing, not an .onnx_adapter file, or refused by ONNX Runtime.</exception>
    public LocalLlmChatClient(LocalModel model, LocalLlmChatClientOptions? options = null, LocalLlmTelemetry? telemetry = null, ILogger<LocalLlmChatClient>? logger = null)
        : this(model ?? throw new ArgumentNullException(nameof(model)), ownsModel: false, options, telemetry, logger)
    {
    }

    /// <summary>Loads <paramref name="modelFolder"/> and creates a client that owns it.</summary>
    /// <param name="modelFolder">The model folder.</param>
    /// <param name="options">Client behaviour; null for defaults.</param>
    /// <exception cref="ArgumentException">The folder is null or empty.</exception>
    /// <exception cref="ModelFolderException">The folder is missing, incomplete or inconsistent.</exception>
    public LocalLlmChatClient(string modelFolder, LocalLlmChatClientOptions? options = null)
        : this(LocalModel.Load(modelFolder), ownsModel: true, options, null, null)
    {
    }

    private LocalLlmChatClient(LocalModel model, bool ownsModel, LocalLlmChatClientOptions? options, LocalLlmTelemetry? telemetry, ILogger? logger)
    {
        _options = options ?? new LocalLlmChatClientOptions();
        _options.Validate();
        _model = model;
        _ownsModel = ownsModel;
        try
        {
            foreach (var (name, path) in _options.Adapters) model.Adapters.Load(name, path, nameof(LocalLlmChatClientOptions.Adapters));
        }
        catch when (ownsModel)
        {
            model.Dispose();
            throw;
        }
        _adapters = [.. _options.Adapters.Keys];
        _ownsTelemetry = telemetry is null;
        _ownedTelemetry = telemetry ?? new LocalLlmTelemetry();
        _telemetry = _ownedTelemetry.For(model.Info.Id, _options.ServiceKey);
        _logger = logger ?? NullLogger.Instance;
        _pool = _options.EnableKvCacheReuse ? new KvCachePool(model, _options.MaxCachedGenerators, _telemetry, _logger) : null;
        _scheduler = new RequestScheduler(_options.MaxConcurrentRequests, _options.MaxQueueLength, _options.KvCacheBudgetBytes, _pool, _telemetry, _logger);
        _conversations = new ConversationStore(_options.MaxConversations);
        _batching = new(StartBatching, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The request's settings; its adapter must be one this client loaded.</summary>
    private GenerationSettings Settings(ChatOptions? options)
    {
        var settings = GenerationSettings.From(options, _options.DefaultMaxOutputTokens, _logger);
        RequestValidation.Adapter(settings.Adapter, _adapters, _model.Info.Id);
        return settings;
    }

    /// <summary>The batching engine, started on first use; null when batching is off or this model cannot be batched.</summary>
    private BatchingEngine? StartBatching()
    {
        if (_options.Batching == BatchingMode.Off) return null;
        string? reason = BatchingEngine.Unsupported(_model.Info);
        var (slots, slotLength) = BatchingEngine.Size(_model.Info, _options);
        if (reason is null && slotLength < BatchingEngine.SlotStep)
            reason = $"KvCacheBudgetBytes ({_options.KvCacheBudgetBytes} bytes) leaves under {BatchingEngine.SlotStep} positions per slot for {slots} slots; raise the budget or lower MaxConcurrentRequests";
        if (reason is null)
        {
            try
            {
                var engine = BatchingEngine.Start(_model, slots, slotLength, Prefill.Chunk, _options.EnableKvCacheReuse, _logger);
                _scheduler.Reserve(engine.KvBytes);
                Log.BatchingStarted(_logger, _model.Info.Id, slots, slotLength, engine.KvBytes);
                return engine;
            }
            catch (Exception e) when (e is NotSupportedException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
            {
                reason = $"the engine could not open the decoder ({e.Message.Trim()})";
            }
        }
        Log.BatchingUnavailable(_logger, _model.Info.Id, reason);
        return null;
    }

    /// <summary>
    /// The engine when this request should be batched: it can serve the settings exactly and no cached generator holds
    /// its prefix (a request that fell back left it; reusing it is faster than a prefill). A request the engine refuses is logged and counted
    /// with the reason.
    /// </summary>
    private BatchingEngine? BatchingFor(GenerationSettings settings, GeneratorPlan plan, string? conversationId, int promptLength, string responseId)
    {
        if (_options.Batching == BatchingMode.Off || _batching.Value is not { } engine) return null;
        // A conversation's history stays in the engine's slots (shared prefixes), so a ConversationId is batched too.
        string? reason = engine.Stopped ? "the batching engine stopped (event 1601)"
            : engine.Refuses(settings, promptLength) ?? (plan.Candidate is not null ? "a cached generator holds the prompt's prefix" : null);
        if (reason is null)
        {
            _telemetry.BatchedRequests.Add(1);
            return engine;
        }
        _telemetry.BatchingFallbacks.Add(1, new KeyValuePair<string, object?>("localllm.batching.reason", reason));
        Log.BatchingFallback(_logger, responseId, reason);
        return null;
    }

    /// <summary>The batching engine if one started (tests).</summary>
    internal BatchingEngine? Batching => _batching.IsValueCreated ? _batching.Value : null;

    /// <summary>The model this client runs.</summary>
    public LocalModel Model => _model;

    /// <summary>The admission queue (tests hold a slot through it).</summary>
    internal RequestScheduler Scheduler => _scheduler;

    /// <inheritdoc />
    /// <exception cref="ArgumentException">Bad messages or options; the message names the problem.</exception>
    /// <exception cref="PromptLengthException">The prompt does not fit the context.</exception>
    /// <exception cref="StructuredOutputException">A JSON answer ended without parsing.</exception>
    /// <exception cref="OperationCanceledException">The request was cancelled.</exception>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        // The request's settings are parsed (validated, warnings logged) here, once, whichever path serves it.
        var requested = Settings(options);
        if (requested.NumBeams > 1)
            return await BeamSearchAsync(messages, options, requested, cancellationToken).ConfigureAwait(false);
        if (SampledCandidates.Applies(requested, options))
            return await SampledCandidatesAsync(messages, options, requested, cancellationToken).ConfigureAwait(false);
        int candidates = requested.CandidateCount;
        if (candidates == 1)
            return await CollectAsync(messages, options, requested, cancellationToken).ConfigureAwait(false);

        // Several candidates with grammars, tools or log-probabilities: one request each (seeds seed, seed+1, …), one message each.
        var responses = new List<ChatResponse>(candidates);
        for (int i = 0; i < candidates; i++)
        {
            ChatOptions one = options!.Clone();
            one.AdditionalProperties!.Remove(LocalLlmOptionKeys.CandidateCount);
            if (one.Seed is { } seed) one.Seed = seed + i;
            // Validated again for its own seed; the warnings were logged once above.
            var settings = GenerationSettings.From(one, _options.DefaultMaxOutputTokens, NullLogger.Instance);
            responses.Add(await CollectAsync(messages, one, settings, cancellationToken).ConfigureAwait(false));
        }
        var merged = new ChatResponse([.. responses.SelectMany(r => r.Messages)])
        {
            ResponseId = responses[0].ResponseId,
            ModelId = responses[0].ModelId,
            CreatedAt = responses[0].CreatedAt,
            FinishReason = responses[0].FinishReason,
            Usage = new UsageDetails
            {
                InputTokenCount = responses.Sum(r => r.Usage?.InputTokenCount ?? 0),
                OutputTokenCount = responses.Sum(r => r.Usage?.OutputTokenCount ?? 0),
                TotalTokenCount = responses.Sum(r => r.Usage?.TotalTokenCount ?? 0),
                CachedInputTokenCount = responses.Sum(r => r.Usage?.CachedInputTokenCount ?? 0),
            },
            AdditionalProperties = responses[0].AdditionalProperties,
        };
        return merged;
    }

    /// <summary>Beam search (src/Sdk/Generation/BeamSearch.cs): the n best beams as n assistant messages of one response.</summary>
    private async Task<ChatResponse> BeamSearchAsync(IEnumerable<ChatMessage> messages, ChatOptions? options, GenerationSettings settings, CancellationToken cancellationToken)
    {
        BeamSearch.Validate(settings, nameof(options));
        var (result, responseId, queueTime) = await RunWholeAsync(messages, options, settings, (prompt, id, ct) =>
            new BeamSearch(_model, prompt.Tokens, settings, _telemetry, _logger, id).RunAsync(ct), cancellationToken).ConfigureAwait(false);
        return WholeResponse(responseId, [.. result.Beams.Select(b => (b.Text, b.Reason))], result.Stats with { QueueTime = queueTime });
    }

    /// <summary>n sampled candidates as one batch (src/Sdk/Generation/SampledCandidates.cs), one assistant message each.</summary>
    private async Task<ChatResponse> SampledCandidatesAsync(IEnumerable<ChatMessage> messages, ChatOptions? options, GenerationSettings settings, CancellationToken cancellationToken)
    {
        var (result, responseId, queueTime) = await RunWholeAsync(messages, options, settings, (prompt, id, ct) =>
            new SampledCandidates(_model, prompt.Tokens, settings, _telemetry, _logger, id).RunAsync(ct), cancellationToken).ConfigureAwait(false);
        return WholeResponse(responseId, [.. result.Candidates.Select(c => (c.Text, c.Reason))], result.Stats with { QueueTime = queueTime });
    }

    /// <summary>Renders the prompt and runs a non-streaming generation under admission, with the request's activity.</summary>
    private async Task<(T Result, string ResponseId, TimeSpan QueueTime)> RunWholeAsync<T>(IEnumerable<ChatMessage> messages, ChatOptions? options, GenerationSettings settings,
        Func<PromptRenderer.RenderedPrompt, string, CancellationToken, Task<T>> run, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var prompt = PromptRenderer.Render(_model, messages, options, _options, _logger);
        if (prompt.Images is { } images)
        {
            images.Dispose();
            throw new NotSupportedException("Beam search and several candidates take text prompts only: ask for one answer (no WithNumBeams / WithCandidateCount) when the messages hold images.");
        }
        string responseId = "chatcmpl-" + Guid.NewGuid().ToString("N");
        using var activity = LocalLlmTelemetry.ActivitySource.StartActivity($"chat {_model.Info.Id}", System.Diagnostics.ActivityKind.Internal);
        activity?.SetTag("gen_ai.operation.name", "chat");
        activity?.SetTag("gen_ai.request.model", _model.Info.Id);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token, _model.Stopping);
        // Every beam or candidate row holds its own KV cache for the whole length; these generators are never cached.
        int rows = Math.Max(settings.NumBeams, settings.CandidateCount);
        long bytes = CachedGenerator.Footprint(_model.Info, GeneratorPlan.Create(_model.Info, prompt.Tokens.Length, settings, null, prompt.Tokens, null).Length) * rows;
        using var admission = await _scheduler.AdmitAsync(bytes, null, linked.Token).ConfigureAwait(false);
        return (await run(prompt, responseId, linked.Token).ConfigureAwait(false), responseId, admission.QueueTime);
    }

    private ChatResponse WholeResponse(string responseId, IReadOnlyList<(string Text, ChatFinishReason Reason)> answers, GenerationStats stats) =>
        new([.. answers.Select(a => new ChatMessage(ChatRole.Assistant, a.Text) { MessageId = "msg-" + Guid.NewGuid().ToString("N") })])
        {
            ResponseId = responseId,
            ModelId = _model.Info.Id,
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = answers[0].Reason,
            Usage = new UsageDetails { InputTokenCount = stats.PromptTokens, CachedInputTokenCount = stats.ReusedPromptTokens, OutputTokenCount = stats.OutputTokens, TotalTokenCount = stats.PromptTokens + stats.OutputTokens },
            AdditionalProperties = new() { [LocalLlmResponseExtensions.StatsKey] = stats },
        };

    /// <summary>The streamed updates as one response; the stats and log-probabilities of the last update move to the response.</summary>
    private async Task<ChatResponse> CollectAsync(IEnumerable<ChatMessage> messages, ChatOptions? options, GenerationSettings settings, CancellationToken cancellationToken)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in StreamAsync(messages, options, settings, cancellationToken).ConfigureAwait(false))
            updates.Add(update);
        var response = updates.ToChatResponse();
        if (updates.Count > 0 && updates[^1].AdditionalProperties is { } extra)
        {
            response.AdditionalProperties ??= [];
            foreach (var (key, value) in extra) response.AdditionalProperties[key] = value;
        }
        return response;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">Bad messages or options; the message names the problem.</exception>
    /// <exception cref="PromptLengthException">The prompt does not fit the context.</exception>
    /// <exception cref="StructuredOutputException">A JSON answer ended without parsing.</exception>
    /// <exception cref="OperationCanceledException">The request was cancelled.</exception>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        // Parsed once here (validated, warnings logged); the stream below only uses the result.
        var settings = Settings(options);
        await foreach (var update in StreamAsync(messages, options, settings, cancellationToken).ConfigureAwait(false))
            yield return update;
    }

    /// <summary>One streamed answer for settings already parsed from <paramref name="options"/>.</summary>
    private async IAsyncEnumerable<ChatResponseUpdate> StreamAsync(IEnumerable<ChatMessage> messages, ChatOptions? options, GenerationSettings settings,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (settings.NumBeams > 1 || settings.CandidateCount > 1)
            throw new NotSupportedException("Beam search and several candidates need the whole answer before any of it is shown: call GetResponseAsync instead of streaming.");

        string? conversationId = options?.ConversationId;
        IReadOnlyList<ChatMessage> history = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        if (conversationId is not null) history = _conversations.Resolve(conversationId, history);
        var prompt = PromptRenderer.Render(_model, history, options, _options, _logger);
        using var images = prompt.Images; // disposed after the generation thread has ended (the finally below waits for it)
        string responseId = "chatcmpl-" + Guid.NewGuid().ToString("N");
        if (_logger.IsEnabled(LogLevel.Trace)) Log.PromptText(_logger, responseId, prompt.Text);

        using var activity = LocalLlmTelemetry.ActivitySource.StartActivity($"chat {_model.Info.Id}", System.Diagnostics.ActivityKind.Internal);
        activity?.SetTag("gen_ai.operation.name", "chat");
        activity?.SetTag("gen_ai.request.model", _model.Info.Id);
        activity?.SetTag("gen_ai.usage.input_tokens", prompt.Tokens.Length);

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token, _model.Stopping);
        // An image prompt gets a generator of its own: no pool key, so it is never reused nor parked, and never batched.
        var plan = GeneratorPlan.Create(_model.Info, prompt.Tokens.Length, settings, images is null ? _pool : null, prompt.Tokens, conversationId);
        var batching = images is null ? BatchingFor(settings, plan, conversationId, prompt.Tokens.Length, responseId) : null;
        // A batched request's KV lives in the engine's slots (reserved when the engine started); it is charged its row.
        var admission = batching is null
            ? await _scheduler.AdmitAsync(plan.Bytes, plan.Candidate, linked.Token).ConfigureAwait(false)
            : await _scheduler.AdmitAsync(BatchingEngine.RowBytes(_model.Info), null, linked.Token).ConfigureAwait(false);
        TimeSpan queueTime = admission.QueueTime;
        Task? producer = null;
        var answer = conversationId is null ? null : new List<AIContent>();
        try
        {
            var reader = batching is not null
                ? new BatchedGeneration(_model, batching, prompt.Tokens, settings, settings.ToolsEnabled, _telemetry, _logger, responseId, admission).Start(linked.Token, out producer)
                : new GenerationLoop(_model, prompt.Tokens, settings, settings.ToolsEnabled, _telemetry, _logger, responseId, plan, _pool, admission, conversationId) { PrefillStarting = _options.PrefillStarting, Images = images }.Start(linked.Token, out producer);
            DateTimeOffset created = DateTimeOffset.UtcNow;
            string messageId = "msg-" + Guid.NewGuid().ToString("N");

            await foreach (var e in reader.ReadAllAsync(linked.Token).ConfigureAwait(false))
            {
                linked.Token.ThrowIfCancellationRequested(); // buffered tokens are not shown after a cancel
                var update = new ChatResponseUpdate { Role = ChatRole.Assistant, ResponseId = responseId, MessageId = messageId, CreatedAt = created, ModelId = _model.Info.Id, ConversationId = conversationId };
                switch (e)
                {
                    case GenerationEvent.Text text:
                        update.Contents.Add(new TextContent(text.Value));
                        answer?.Add(new TextContent(text.Value));
                        yield return update;
                        break;
                    case GenerationEvent.Finished done:
                        if (settings.JsonOutput) ValidateJson(done.FullText ?? "", responseId, done.Reason == ChatFinishReason.Length ? settings.MaxOutputTokens : null);
                        if (done.ToolCalls is not null) foreach (var c in done.ToolCalls) update.Contents.Add(c);
                        if (conversationId is not null)
                        {
                            if (done.ToolCalls is not null) answer!.AddRange(done.ToolCalls);
                            _conversations.Save(conversationId, [.. history, new ChatMessage(ChatRole.Assistant, Merge(answer!))]);
                        }
                        update.Contents.Add(new UsageContent(new UsageDetails
                        {
                            InputTokenCount = done.Stats.PromptTokens,
                            CachedInputTokenCount = done.Stats.ReusedPromptTokens,
                            OutputTokenCount = done.Stats.OutputTokens,
                            TotalTokenCount = done.Stats.PromptTokens + done.Stats.OutputTokens,
                        }));
                        update.FinishReason = done.Reason;
                        update.AdditionalProperties = new() { [LocalLlmResponseExtensions.StatsKey] = done.Stats with { QueueTime = queueTime } };
                        if (done.LogProbabilities is not null) update.AdditionalProperties[LocalLlmResponseExtensions.LogProbabilitiesKey] = done.LogProbabilities.ToArray();
                        activity?.SetTag("gen_ai.usage.output_tokens", done.Stats.OutputTokens);
                        activity?.SetTag("gen_ai.response.finish_reasons", done.Reason.Value);
                        yield return update;
                        break;
                }
            }
        }
        finally
        {
            // Stop the loop if the caller stopped reading early, and wait so the generator is freed before we return.
            if (producer is not null && !producer.IsCompleted)
            {
                await linked.CancelAsync().ConfigureAwait(false);
                await producer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            admission.Dispose(); // no-op when the loop already handed its generator back
        }
    }

    /// <summary>Adjacent text pieces as one TextContent, so the stored answer renders like any assistant message.</summary>
    private static List<AIContent> Merge(List<AIContent> contents)
    {
        var merged = new List<AIContent>();
        var text = new System.Text.StringBuilder();
        foreach (var c in contents)
        {
            if (c is TextContent t) { text.Append(t.Text); continue; }
            if (text.Length > 0) { merged.Add(new TextContent(text.ToString())); text.Clear(); }
            merged.Add(c);
        }
        if (text.Length > 0) merged.Add(new TextContent(text.ToString()));
        return merged;
    }

    /// <summary>A JSON answer must parse; one cut by the output limit (<paramref name="cutAt"/> tokens) says so.</summary>
    private void ValidateJson(string text, string responseId, int? cutAt)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            Log.InvalidStructuredOutput(_logger, responseId, e.Message);
            throw new StructuredOutputException(cutAt is { } max
                ? $"The JSON answer was cut at MaxOutputTokens ({max}) before its value closed. Raise MaxOutputTokens or ask for a smaller object."
                : $"The model's JSON answer does not parse ({e.Message}). Retry, raise MaxOutputTokens, or use a larger model.", text, e);
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return _model.Metadata;
        if (serviceType == typeof(ModelInfo)) return _model.Info;
        if (serviceType == typeof(LocalModel)) return _model;
        if (serviceType == typeof(Model)) return _model.NativeModel;
        if (serviceType == typeof(Tokenizer)) return _model.NativeTokenizer;
        if (serviceType == typeof(IConversationHistory)) return _conversations;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Ends in-flight requests (they finish with <see cref="OperationCanceledException"/>); native objects are released after they end. Safe to call twice.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _disposing.Cancel();
        if (_batching.IsValueCreated) _batching.Value?.Dispose();
        _pool?.Dispose();
        if (_ownsModel) _model.Dispose();
        if (_ownsTelemetry) _ownedTelemetry.Dispose();
        // _disposing and _scheduler stay alive: requests still unwinding may touch them; they hold no native resources.
    }
}
