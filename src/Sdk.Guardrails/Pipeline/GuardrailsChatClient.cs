using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text;
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
    private readonly GuardrailRunner _runner;
    private readonly ILogger _logger;

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
            blocked = IsCandidateList(response)
                ? await PickCandidateAsync(response, input, options, findings, cancellationToken)
                : await CheckAnswerMessagesAsync(response, input, options, findings, cancellationToken);
            if (blocked is not null)
                return Blocked(blocked, findings, response);
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
            yield return BlockedUpdate(blocked, findings, template: null);
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

        // Text is released only up to the cut (the hold-back window) and only after the checks have seen it all.
        var holdback = _runner.OutputNeedsCompleteText(options) ? GuardrailHoldback.Complete : Options.Holdback;
        var raw = new StringBuilder();
        string released = "";
        int lastCut = 0;
        ChatResponseUpdate? template = null;
        ChatFinishReason? finishReason = null;
        await foreach (var update in base.GetStreamingResponseAsync(input, options, cancellationToken))
        {
            template = update;
            finishReason = update.FinishReason ?? finishReason;
            List<AIContent>? other = null;
            int before = raw.Length;
            foreach (var content in update.Contents)
            {
                if (content is TextContent text)
                    raw.Append(text.Text);
                else
                    (other ??= []).Add(content);
            }
            if (other is not null)
                yield return NewUpdate(update, other); // tool calls, usage: not text, passed on as they come
            if (raw.Length == before)
                continue;

            int cut = Cut(raw, holdback, lastCut);
            if (cut <= lastCut)
                continue;
            var outcome = await _runner.RunAsync(GuardrailStage.Output, raw.ToString(), input, options, isPartial: true, record: false, cancellationToken);
            var stop = outcome.Block;
            string prefix = "";
            if (stop is null)
            {
                prefix = outcome.Text.OutputBefore(cut);
                if (!prefix.StartsWith(released, StringComparison.Ordinal))
                    stop = StreamRewrite(outcome);
            }
            if (stop is not null)
            {
                Log.StreamStopped(_logger, released.Length, stop.Category);
                findings.AddRange(outcome.Findings);
                if (outcome.Block is null)
                    findings.Add(stop);
                yield return BlockedUpdate(stop, findings, template);
                yield break;
            }
            lastCut = cut;
            if (prefix.Length > released.Length)
            {
                yield return NewUpdate(update, [new TextContent(prefix[released.Length..])]);
                released = prefix;
            }
        }

        var final = await _runner.RunAsync(GuardrailStage.Output, raw.ToString(), input, options, isPartial: false, record: true, cancellationToken);
        findings.AddRange(final.Findings);
        var block = final.Block;
        string all = final.Text.Text;
        if (block is null && !all.StartsWith(released, StringComparison.Ordinal))
        {
            block = StreamRewrite(final);
            findings.Add(block);
        }
        if (block is not null)
        {
            Log.StreamStopped(_logger, released.Length, block.Category);
            yield return BlockedUpdate(block, findings, template);
            yield break;
        }
        var last = NewUpdate(template, all.Length > released.Length ? [new TextContent(all[released.Length..])] : []);
        last.FinishReason = finishReason;
        Annotate(last.AdditionalProperties ??= [], findings, block: null);
        yield return last;
    }

    private static GuardrailFinding StreamRewrite(GuardrailOutcome outcome) =>
        new(GuardrailStage.Output, outcome.Findings.LastOrDefault(f => f.Action == GuardrailAction.Redact)?.Check ?? "guardrails",
            GuardrailsOptions.StreamRewriteCategory, GuardrailAction.Block, 1, "A check changed text that was already streamed; widen the hold-back window.");

    // Where the releasable text ends: the caller never sees text after the cut until the checks have seen what follows.
    private int Cut(StringBuilder raw, GuardrailHoldback holdback, int lastCut)
    {
        switch (holdback)
        {
            case GuardrailHoldback.Characters:
                return Math.Max(0, raw.Length - Options.HoldbackCharacters);
            case GuardrailHoldback.Sentence:
                for (int i = raw.Length - 2; i >= lastCut; i--)
                {
                    char c = raw[i];
                    if ((c is '.' or '!' or '?' && char.IsWhiteSpace(raw[i + 1])) || c == '\n')
                        return i + 1;
                }
                return lastCut;
            default:
                return 0;
        }
    }

    private async ValueTask<(IReadOnlyList<ChatMessage> Messages, GuardrailFinding? Block)> CheckInputAsync(IEnumerable<ChatMessage> messages, ChatOptions? options, List<GuardrailFinding> findings, CancellationToken cancellationToken)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        if (!_runner.HasInputChecks)
            return (list, null);
        // The new input: what follows the last assistant message (earlier turns were checked when they were new).
        int start = list.Count;
        while (start > 0 && list[start - 1].Role != ChatRole.Assistant)
            start--;
        List<ChatMessage>? edited = null;
        for (int i = start; i < list.Count; i++)
        {
            var message = list[i];
            if (message.Role == ChatRole.System)
                continue;
            if (message.Text is { Length: > 0 } text)
            {
                var outcome = await _runner.RunAsync(GuardrailStage.Input, text, list, options, isPartial: false, cancellationToken);
                findings.AddRange(outcome.Findings);
                if (outcome.Block is not null)
                    return (list, outcome.Block);
                if (outcome.Text.IsEdited)
                    (edited ??= [.. list])[i] = message = WithText(message, outcome.Text.Text);
            }
            // Tool results are input too: a poisoned web page or e-mail a tool returned is an indirect injection.
            for (int c = 0; c < message.Contents.Count; c++)
            {
                if (message.Contents[c] is not FunctionResultContent result || ResultText(result) is not { Length: > 0 } resultText)
                    continue;
                var outcome = await _runner.RunAsync(GuardrailStage.Input, resultText, list, options, isPartial: false, cancellationToken);
                findings.AddRange(outcome.Findings);
                if (outcome.Block is not null)
                    return (list, outcome.Block);
                if (outcome.Text.IsEdited)
                {
                    var copy = message.Clone();
                    copy.Contents = [.. message.Contents];
                    copy.Contents[c] = new FunctionResultContent(result.CallId, outcome.Text.Text) { Exception = result.Exception };
                    (edited ??= [.. list])[i] = message = copy;
                }
            }
        }
        return (edited ?? list, null);
    }

    // A tool result's text: a string as it is, anything else as the JSON the model would be shown.
    private static string? ResultText(FunctionResultContent result) => result.Result switch
    {
        null => null,
        string s => s,
        System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.String } e => e.GetString(),
        var other => System.Text.Json.JsonSerializer.Serialize(other, AIJsonUtilities.DefaultOptions.GetTypeInfo(other.GetType())),
    };

    private static bool IsCandidateList(ChatResponse response) =>
        response.Messages.Count > 1 &&
        response.Messages.All(m => m.Role == ChatRole.Assistant && !m.Contents.Any(c => c is FunctionCallContent or FunctionResultContent));

    // Candidates: the first one that passes wins; if none does, the first one's block decides the fallback.
    private async ValueTask<GuardrailFinding?> PickCandidateAsync(ChatResponse response, IReadOnlyList<ChatMessage> input, ChatOptions? options, List<GuardrailFinding> findings, CancellationToken cancellationToken)
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
                return null;
            }
            firstBlock ??= outcome.Block;
            firstFindings ??= outcome.Findings;
        }
        Log.AllCandidatesRejected(_logger, response.Messages.Count);
        findings.AddRange(firstFindings!);
        return firstBlock;
    }

    private async ValueTask<GuardrailFinding?> CheckAnswerMessagesAsync(ChatResponse response, IReadOnlyList<ChatMessage> input, ChatOptions? options, List<GuardrailFinding> findings, CancellationToken cancellationToken)
    {
        for (int i = 0; i < response.Messages.Count; i++)
        {
            var message = response.Messages[i];
            if (message.Role != ChatRole.Assistant || message.Text is not { Length: > 0 } text)
                continue;
            var outcome = await _runner.RunAsync(GuardrailStage.Output, text, input, options, isPartial: false, cancellationToken);
            findings.AddRange(outcome.Findings);
            if (outcome.Block is not null)
                return outcome.Block;
            if (outcome.Text.IsEdited)
                response.Messages[i] = WithText(message, outcome.Text.Text);
        }
        return null;
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
            AdditionalProperties = [],
        };
        Annotate(response.AdditionalProperties, findings, block);
        return response;
    }

    private ChatResponseUpdate BlockedUpdate(GuardrailFinding block, List<GuardrailFinding> findings, ChatResponseUpdate? template)
    {
        var update = NewUpdate(template, [new TextContent(_runner.Fallback(block.Category))]);
        update.FinishReason = ChatFinishReason.ContentFilter;
        Annotate(update.AdditionalProperties ??= [], findings, block);
        return update;
    }

    private static ChatResponseUpdate NewUpdate(ChatResponseUpdate? template, IList<AIContent> contents) => new(ChatRole.Assistant, contents)
    {
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
            properties[GuardrailsPropertyNames.Escalate] = escalate.Category;
    }
}
