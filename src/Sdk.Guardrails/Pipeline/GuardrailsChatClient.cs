using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LocalLlm.Guardrails;

/// <summary>
/// Checks new input messages before the model sees them and the model's answer before the caller does. A blocked
/// request or answer is a normal response with <see cref="ChatFinishReason.ContentFilter"/> and the category's
/// fallback text; <see cref="GuardrailsPropertyNames"/> lists what is put in <c>AdditionalProperties</c>.
/// </summary>
public sealed class GuardrailsChatClient : DelegatingChatClient
{
    // Outcomes of input texts already checked, so an unchanged earlier turn is not scored again on every request of a
    // conversation (checks are stateless, so a text's outcome is the same every time).
    private const int InputCacheEntries = 4096;

    private readonly GuardrailRunner _runner;
    private readonly ILogger _logger;
    private readonly MemoryCache _inputCache = new(new MemoryCacheOptions { SizeLimit = InputCacheEntries });

    /// <summary>Initializes a new instance of the <see cref="GuardrailsChatClient"/> class.</summary>
    /// <param name="innerClient">The client the checked requests go to.</param>
    /// <param name="options">Checks, policies, fallbacks and streaming settings; the checks are read once, here.</param>
    /// <param name="loggerFactory">Logs findings and failing checks (never prompt or answer text); optional.</param>
    /// <param name="meterFactory">Creates the <c>LocalLlm</c> meter; optional (a shared meter is used without it).</param>
    /// <exception cref="ArgumentNullException"><paramref name="innerClient"/> or <paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> are invalid; the message lists each problem.</exception>
    public GuardrailsChatClient(IChatClient innerClient, GuardrailsOptions options, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
        : base(innerClient)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
            throw new ArgumentException("Guardrails options are invalid: " + string.Join(" ", errors), nameof(options));
        Options = options;
        _logger = (ILogger?)loggerFactory?.CreateLogger<GuardrailsChatClient>() ?? NullLogger.Instance;
        _runner = new GuardrailRunner(options, _logger, new GuardrailsTelemetry(meterFactory));
    }

    /// <summary>Gets the options this client was built with.</summary>
    public GuardrailsOptions Options { get; }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _inputCache.Dispose();
        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var findings = new List<GuardrailFinding>();
        var (input, blocked) = await CheckInputAsync(messages, options, findings, cancellationToken);
        if (blocked is not null)
            return Blocked(blocked, findings, inner: null);

        var response = await base.GetResponseAsync(input, options, cancellationToken);
        if (_runner.HasOutputChecks)
        {
            bool edited;
            (blocked, edited) = IsCandidateList(response)
                ? await PickCandidateAsync(response, input, options, findings, cancellationToken)
                : await CheckAnswerMessagesAsync(response, input, options, findings, cancellationToken);
            if (blocked is not null)
            {
                var refusal = Blocked(blocked, findings, response);
                RecordAnswer(options, response.ConversationId, input, refusal.Messages[0]);
                return refusal;
            }
            if (edited)
                RecordAnswer(options, response.ConversationId, input, Merged(response.Messages));
        }
        Annotate(response.AdditionalProperties ??= [], findings, block: null);
        return response;
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var findings = new List<GuardrailFinding>();
        var (input, blocked) = await CheckInputAsync(messages, options, findings, cancellationToken);
        if (blocked is not null)
        {
            yield return BlockedUpdate(blocked, findings, template: null, pending: null);
            yield break;
        }

        if (!_runner.HasOutputChecks)
        {
            await foreach (var update in base.GetStreamingResponseAsync(input, options, cancellationToken))
                yield return update;
            if (findings.Count > 0)
            {
                var annotation = new ChatResponseUpdate { Role = ChatRole.Assistant, AdditionalProperties = [] };
                Annotate(annotation.AdditionalProperties, findings, block: null);
                yield return annotation;
            }
            yield break;
        }

        // Text is released only up to the cut (the hold-back window) and only after the checks have seen it. The checks
        // see overlapping windows, not the whole text again: each window starts a context before the released text and
        // runs once the cut has moved a step, so every character is checked a bounded number of times.
        var holdback = _runner.OutputNeedsCompleteText(options) ? GuardrailHoldback.Complete : Options.Holdback;
        var stream = new OutputStream(Options.HoldbackCharacters, holdback == GuardrailHoldback.Characters ? Math.Max(1, Options.HoldbackCharacters / 2) : 1);
        ChatResponseUpdate? template = null;
        ChatFinishReason? finishReason = null;
        AdditionalPropertiesDictionary? pending = null; // the inner updates' properties (stats, log-probabilities), passed on
        var answerContents = new List<AIContent>(); // what the caller received besides text (tool calls)
        await foreach (var update in base.GetStreamingResponseAsync(input, options, cancellationToken))
        {
            template = update;
            finishReason = update.FinishReason ?? finishReason;
            if (update.AdditionalProperties is { Count: > 0 } properties)
            {
                pending ??= [];
                foreach (var (key, value) in properties)
                    pending[key] = value;
            }
            List<AIContent>? other = null;
            bool grew = false;
            foreach (var content in update.Contents)
            {
                if (content is TextContent text)
                {
                    stream.Raw.Append(text.Text);
                    grew |= text.Text.Length > 0;
                }
                else
                {
                    (other ??= []).Add(content);
                }
            }
            if (other is not null)
            {
                answerContents.AddRange(other.Where(c => c is FunctionCallContent));
                yield return NewUpdate(update, other, Take(ref pending)); // tool calls, usage: not text, passed on as they come
            }
            if (!grew)
                continue;

            int cut = Cut(stream, holdback);
            if (cut - stream.Committed < stream.Step)
                continue;
            var (released, stop) = await CheckWindowAsync(stream, cut, input, options, findings, isPartial: true, cancellationToken);
            if (stop is not null)
            {
                var refusal = BlockedUpdate(stop, findings, template, Take(ref pending));
                RecordAnswer(options, template?.ConversationId, input, new ChatMessage(ChatRole.Assistant, stream.Released + refusal.Text));
                yield return refusal;
                yield break;
            }
            if (released.Length > 0)
                yield return NewUpdate(update, [new TextContent(released)], Take(ref pending));
        }

        var (rest, block) = await CheckWindowAsync(stream, stream.Raw.Length, input, options, findings, isPartial: false, cancellationToken);
        if (block is not null)
        {
            var refusal = BlockedUpdate(block, findings, template, Take(ref pending));
            RecordAnswer(options, template?.ConversationId, input, new ChatMessage(ChatRole.Assistant, stream.Released + refusal.Text));
            yield return refusal;
            yield break;
        }
        if (stream.Edited)
            RecordAnswer(options, template?.ConversationId, input, new ChatMessage(ChatRole.Assistant, [new TextContent(stream.Released), .. answerContents]));
        var last = NewUpdate(template, rest.Length > 0 ? [new TextContent(rest)] : [], Take(ref pending));
        last.FinishReason = finishReason;
        Annotate(last.AdditionalProperties ??= [], findings, block: null);
        yield return last;
    }

    private static AdditionalPropertiesDictionary? Take(ref AdditionalPropertiesDictionary? pending)
    {
        var taken = pending;
        pending = null;
        return taken;
    }

    /// <summary>A streamed answer: the raw text so far, and how much of it the caller has received.</summary>
    private sealed class OutputStream(int context, int step)
    {
        public StringBuilder Raw { get; } = new();

        /// <summary>Characters of a window before the released text, so a check sees what leads up to new text.</summary>
        public int Context { get; } = context;

        /// <summary>How far the cut must move before the next window is checked.</summary>
        public int Step { get; } = step;

        /// <summary>Raw characters whose (checked, maybe edited) text has been released.</summary>
        public int Committed { get; set; }

        /// <summary>Where the last sentence search ended (the sentence hold-back scans each character once).</summary>
        public int Scanned { get; set; }

        public int SentenceCut { get; set; }

        public StringBuilder ReleasedText { get; } = new();

        public string Released => ReleasedText.ToString();

        public bool Edited { get; set; }

        public HashSet<(string Check, string Category, GuardrailAction Action)> Seen { get; } = [];
    }

    // Checks the window that ends at the raw text's end and starts a context before the committed text, then releases
    // the text up to the cut. Text released earlier can't change: an edit that reaches into it stops the stream.
    private async ValueTask<(string Released, GuardrailFinding? Stop)> CheckWindowAsync(OutputStream stream, int cut, IReadOnlyList<ChatMessage> input, ChatOptions? options, List<GuardrailFinding> findings, bool isPartial, CancellationToken cancellationToken)
    {
        int start = Math.Max(0, stream.Committed - stream.Context);
        string window = stream.Raw.ToString(start, stream.Raw.Length - start);
        var outcome = await _runner.RunAsync(GuardrailStage.Output, window, input, options, isPartial, record: false, offset: start, cancellationToken);
        foreach (var finding in outcome.Findings)
        {
            if (!stream.Seen.Add((finding.Check, finding.Category, finding.Action)))
                continue;
            findings.Add(finding);
            if (finding.Action != GuardrailAction.Block)
                _runner.Record(finding); // a block was recorded when it happened
        }
        if (outcome.Block is not null)
        {
            Log.StreamStopped(_logger, stream.ReleasedText.Length, outcome.Block.Category);
            return ("", outcome.Block);
        }
        if (outcome.Text.OutputBetween(stream.Committed - start, cut - start) is not { } output)
        {
            var rewrite = StreamRewrite(outcome);
            findings.Add(rewrite);
            Log.StreamStopped(_logger, stream.ReleasedText.Length, rewrite.Category);
            return ("", rewrite);
        }
        stream.Committed = start + output.SourceEnd;
        stream.Edited |= outcome.Text.IsEdited;
        stream.ReleasedText.Append(output.Text);
        return (output.Text, null);
    }

    private static GuardrailFinding StreamRewrite(GuardrailOutcome outcome) =>
        new(GuardrailStage.Output, outcome.Findings.LastOrDefault(f => f.Action == GuardrailAction.Redact)?.Check ?? "guardrails",
            GuardrailsOptions.StreamRewriteCategory, GuardrailAction.Block, 1, "A check changed text that was already streamed; widen the hold-back window.");

    // Where the releasable text ends: the caller never sees text after the cut until the checks have seen what follows.
    private int Cut(OutputStream stream, GuardrailHoldback holdback)
    {
        var raw = stream.Raw;
        switch (holdback)
        {
            case GuardrailHoldback.Characters:
                return Math.Max(0, raw.Length - Options.HoldbackCharacters);
            case GuardrailHoldback.Sentence:
                for (int i = Math.Max(stream.Scanned, stream.SentenceCut); i < raw.Length - 1; i++)
                {
                    char c = raw[i];
                    if ((c is '.' or '!' or '?' && char.IsWhiteSpace(raw[i + 1])) || c == '\n')
                        stream.SentenceCut = i + 1;
                }
                stream.Scanned = Math.Max(stream.Scanned, raw.Length - 1);
                return Math.Max(stream.SentenceCut, stream.Committed);
            default:
                return 0;
        }
    }

    // Tells the client below what the caller received when a check changed or blocked the answer, so the history kept
    // under the conversation id is never the text the checks removed.
    private void RecordAnswer(ChatOptions? options, string? responseConversationId, IReadOnlyList<ChatMessage> input, ChatMessage answer)
    {
        if ((options?.ConversationId ?? responseConversationId) is { } id)
            InnerClient.GetService<IConversationHistory>()?.RecordAnswer(id, input, answer);
    }

    private static ChatMessage Merged(IList<ChatMessage> messages) =>
        messages.Count == 1 ? messages[0] : new ChatMessage(ChatRole.Assistant, [.. messages.Where(m => m.Role == ChatRole.Assistant).SelectMany(m => m.Contents)]);

    private async ValueTask<(IReadOnlyList<ChatMessage> Messages, GuardrailFinding? Block)> CheckInputAsync(IEnumerable<ChatMessage> messages, ChatOptions? options, List<GuardrailFinding> findings, CancellationToken cancellationToken)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        if (!_runner.HasInputChecks)
            return (list, null);
        // Every untrusted text of the request: a stateless client sends (and can forge) the whole history each time, and
        // indirect injection arrives in tool results and call arguments. Texts seen by an earlier request come from the cache.
        List<ChatMessage>? edited = null;
        for (int i = 0; i < list.Count; i++)
        {
            var message = list[i];
            bool trusted = Options.TrustedRoles.Contains(message.Role.Value);
            ChatMessage? copy = null;
            if (!trusted && message.Text is { Length: > 0 } text)
            {
                var (result, block) = await CheckInputTextAsync(text, list, options, findings, cancellationToken);
                if (block is not null)
                    return (list, block);
                if (result is not null)
                    copy = WithText(message, result);
            }
            for (int c = 0; c < message.Contents.Count; c++)
            {
                var content = (copy ?? message).Contents[c];
                string? piece = content switch
                {
                    FunctionResultContent r => r.Result as string ?? (r.Result is null ? null : JsonSerializer.Serialize(r.Result, AIJsonUtilities.DefaultOptions)),
                    FunctionCallContent call when call.Arguments is { Count: > 0 } => JsonSerializer.Serialize(call.Arguments, AIJsonUtilities.DefaultOptions),
                    _ => null,
                };
                if (piece is not { Length: > 0 })
                    continue;
                var (result, block) = await CheckInputTextAsync(piece, list, options, findings, cancellationToken);
                if (block is not null)
                    return (list, block);
                if (result is null)
                    continue;
                AIContent? replaced = content switch
                {
                    FunctionResultContent r => new FunctionResultContent(r.CallId, result),
                    FunctionCallContent call => Arguments(result) is { } arguments ? new FunctionCallContent(call.CallId, call.Name, arguments) : null,
                    _ => null,
                };
                if (replaced is null) // an edit that broke the arguments' JSON: the call can't be passed on safely
                    return (list, new GuardrailFinding(GuardrailStage.Input, "guardrails", findings[^1].Category, GuardrailAction.Block, 1, "A redaction left a tool call's arguments unreadable."));
                copy ??= message.Clone();
                var contents = new List<AIContent>(copy.Contents) { [c] = replaced };
                copy.Contents = contents;
            }
            if (copy is not null)
                (edited ??= [.. list])[i] = copy;
        }
        return (edited ?? list, null);
    }

    private static Dictionary<string, object?>? Arguments(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, object?>>(json, AIJsonUtilities.DefaultOptions);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // One untrusted text: its edited text (null when unchanged) or the finding that blocks the request.
    private async ValueTask<(string? Edited, GuardrailFinding? Block)> CheckInputTextAsync(string text, IReadOnlyList<ChatMessage> list, ChatOptions? options, List<GuardrailFinding> findings, CancellationToken cancellationToken)
    {
        if (!_inputCache.TryGetValue(text, out CheckedInput? known) || known is null)
        {
            var outcome = await _runner.RunAsync(GuardrailStage.Input, text, list, options, isPartial: false, cancellationToken);
            known = new CheckedInput([.. outcome.Findings], outcome.Block, outcome.Text.IsEdited ? outcome.Text.Text : null);
            _inputCache.Set(text, known, new MemoryCacheEntryOptions { Size = 1 });
        }
        findings.AddRange(known.Findings);
        return (known.Edited, known.Block);
    }

    private sealed record CheckedInput(GuardrailFinding[] Findings, GuardrailFinding? Block, string? Edited);

    private static bool IsCandidateList(ChatResponse response) =>
        response.Messages.Count > 1 &&
        response.Messages.All(m => m.Role == ChatRole.Assistant && !m.Contents.Any(c => c is FunctionCallContent or FunctionResultContent));

    // Candidates: the first one that passes wins; if none does, the first one's block decides the fallback.
    private async ValueTask<(GuardrailFinding? Block, bool Edited)> PickCandidateAsync(ChatResponse response, IReadOnlyList<ChatMessage> input, ChatOptions? options, List<GuardrailFinding> findings, CancellationToken cancellationToken)
    {
        GuardrailFinding? firstBlock = null;
        List<GuardrailFinding>? firstFindings = null;
        for (int i = 0; i < response.Messages.Count; i++)
        {
            var candidate = response.Messages[i];
            var outcome = await _runner.RunAsync(GuardrailStage.Output, candidate.Text, input, options, isPartial: false, cancellationToken);
            if (outcome.Block is null)
            {
                Log.CandidateAccepted(_logger, i, response.Messages.Count);
                findings.AddRange(outcome.Findings);
                response.Messages = [outcome.Text.IsEdited ? WithText(candidate, outcome.Text.Text) : candidate];
                return (null, true); // the caller gets one candidate of several: that one is the turn's answer
            }
            firstBlock ??= outcome.Block;
            firstFindings ??= outcome.Findings;
        }
        Log.AllCandidatesRejected(_logger, response.Messages.Count);
        findings.AddRange(firstFindings!);
        return (firstBlock, false);
    }

    private async ValueTask<(GuardrailFinding? Block, bool Edited)> CheckAnswerMessagesAsync(ChatResponse response, IReadOnlyList<ChatMessage> input, ChatOptions? options, List<GuardrailFinding> findings, CancellationToken cancellationToken)
    {
        bool edited = false;
        for (int i = 0; i < response.Messages.Count; i++)
        {
            var message = response.Messages[i];
            if (message.Role != ChatRole.Assistant || message.Text is not { Length: > 0 } text)
                continue;
            var outcome = await _runner.RunAsync(GuardrailStage.Output, text, input, options, isPartial: false, cancellationToken);
            findings.AddRange(outcome.Findings);
            if (outcome.Block is not null)
                return (outcome.Block, false);
            if (outcome.Text.IsEdited)
            {
                response.Messages[i] = WithText(message, outcome.Text.Text);
                edited = true;
            }
        }
        return (null, edited);
    }

    // The message with its text replaced: the first text content takes the new text, other text contents go.
    private static ChatMessage WithText(ChatMessage message, string text)
    {
        var copy = message.Clone();
        var contents = new List<AIContent>(message.Contents.Count);
        bool placed = false;
        foreach (var content in message.Contents)
        {
            if (content is not TextContent)
                contents.Add(content);
            else if (!placed)
            {
                contents.Add(new TextContent(text));
                placed = true;
            }
        }
        if (!placed)
            contents.Add(new TextContent(text));
        copy.Contents = contents;
        return copy;
    }

    private ChatResponse Blocked(GuardrailFinding block, List<GuardrailFinding> findings, ChatResponse? inner)
    {
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, _runner.Fallback(block.Category)))
        {
            FinishReason = ChatFinishReason.ContentFilter,
            ResponseId = inner?.ResponseId,
            ConversationId = inner?.ConversationId,
            ModelId = inner?.ModelId,
            CreatedAt = inner?.CreatedAt,
            Usage = inner?.Usage, // the tokens were spent even though the answer was replaced
            AdditionalProperties = inner?.AdditionalProperties is { } properties ? new(properties) : [], // stats, log-probabilities
        };
        Annotate(response.AdditionalProperties, findings, block);
        return response;
    }

    private ChatResponseUpdate BlockedUpdate(GuardrailFinding block, List<GuardrailFinding> findings, ChatResponseUpdate? template, AdditionalPropertiesDictionary? pending)
    {
        var update = NewUpdate(template, [new TextContent(_runner.Fallback(block.Category))], pending);
        update.FinishReason = ChatFinishReason.ContentFilter;
        Annotate(update.AdditionalProperties ??= [], findings, block);
        return update;
    }

    private static ChatResponseUpdate NewUpdate(ChatResponseUpdate? template, IList<AIContent> contents, AdditionalPropertiesDictionary? properties) => new(ChatRole.Assistant, contents)
    {
        AdditionalProperties = properties,
        ResponseId = template?.ResponseId,
        MessageId = template?.MessageId,
        ConversationId = template?.ConversationId,
        ModelId = template?.ModelId,
        CreatedAt = template?.CreatedAt,
        AuthorName = template?.AuthorName,
    };

    private static void Annotate(AdditionalPropertiesDictionary properties, List<GuardrailFinding> findings, GuardrailFinding? block)
    {
        if (block is not null)
        {
            properties[GuardrailsPropertyNames.Check] = block.Check;
            properties[GuardrailsPropertyNames.Category] = block.Category;
            properties[GuardrailsPropertyNames.Stage] = GuardrailsTelemetry.StageName(block.Stage);
        }
        if (findings.Count == 0)
            return;
        properties[GuardrailsPropertyNames.Findings] = findings.ToArray();
        string[] flags = [.. findings.Where(f => f.Action == GuardrailAction.Flag).Select(f => f.Category).Distinct()];
        if (flags.Length > 0)
            properties[GuardrailsPropertyNames.Flags] = flags;
        if (block is null && findings.FirstOrDefault(f => f.Action == GuardrailAction.Escalate) is { } escalate)
            new EscalationMarker(escalate.Category, "guardrails").MarkOn(properties);
    }
}
