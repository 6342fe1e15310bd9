using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LocalLlm;

/// <summary>
/// Watches the output for loops (a repeated suffix, repeated n-grams, few distinct tokens, near-certainty on a
/// repetitive window) and retries with remedies in the configured order. Streams hold back a window so a loop found
/// early is retried before the user sees it; a loop found later ends the stream with
/// <see cref="DegenerateFinishReason"/> and a <see cref="DegenerationReport"/>. docs/decoding.md has the details.
/// </summary>
public sealed class DegenerationGuardChatClient : DelegatingChatClient
{
    /// <summary>The AdditionalProperties key of the <see cref="DegenerationReport"/>.</summary>
    public const string ReportKey = "localllm.degeneration";

    /// <summary>The finish reason of an answer that still loops after every retry (or a stream cut on a loop).</summary>
    public static ChatFinishReason DegenerateFinishReason { get; } = new("degenerate");

    private readonly DegenerationDetector _detector;
    private readonly ILogger _logger;
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _triggers;
    private readonly Counter<long> _remedies;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _unresolved;
    private Func<string, IReadOnlyList<int>>? _tokenize;

    /// <summary>Creates the stage.</summary>
    /// <param name="innerClient">The client below.</param>
    /// <param name="options">Thresholds and remedies; null for defaults. Validated here; later changes are not seen.</param>
    /// <param name="logger">Logger; null for none.</param>
    /// <param name="meterFactory">Creates the <c>LocalLlm</c> meter; null to create our own.</param>
    /// <exception cref="ArgumentNullException"><paramref name="innerClient"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public DegenerationGuardChatClient(IChatClient innerClient, DegenerationGuardOptions? options = null, ILogger<DegenerationGuardChatClient>? logger = null, IMeterFactory? meterFactory = null)
        : base(innerClient)
    {
        Options = options ?? new DegenerationGuardOptions();
        _detector = new DegenerationDetector(Options);
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(LocalLlmTelemetry.Name) ?? new Meter(LocalLlmTelemetry.Name);
        _triggers = _meter.CreateCounter<long>("localllm.degeneration.triggers", "{event}", "Loops detected in model output (tag signal).");
        _remedies = _meter.CreateCounter<long>("localllm.degeneration.remedies", "{remedy}", "Remedies added for a retry (tag remedy).");
        _retries = _meter.CreateCounter<long>("localllm.degeneration.retries", "{retry}", "Requests retried because the output looped.");
        _unresolved = _meter.CreateCounter<long>("localllm.degeneration.unresolved", "{request}", "Answers still looping after every retry, or streams cut on a loop.");
    }

    /// <summary>The thresholds and remedies in use.</summary>
    public DegenerationGuardOptions Options { get; }

    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        ChatOptions? current = options;
        DegenerationFinding? previous = null; // per request: concurrent requests through one stage never see each other's
        for (int attempt = 1; ; attempt++)
        {
            var (response, finding, loopStart) = IsMultiple(current)
                ? await CheckWholeAsync(list, current, cancellationToken)
                : await CollectAsync(list, current, cancellationToken);
            if (finding is null)
            {
                if (attempt > 1) Annotate(response.AdditionalProperties ??= [], previous!, attempt, current, resolved: true, null);
                return response;
            }
            previous = finding;
            Triggered(finding, attempt);
            if (attempt > Options.MaxRetries)
            {
                Unresolved(attempt - 1);
                response.FinishReason = DegenerateFinishReason;
                Annotate(response.AdditionalProperties ??= [], finding, attempt, current, resolved: false, loopStart);
                return response;
            }
            current = Remedied(options, attempt);
        }
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        bool holdBack = Options.StreamingMode == DegenerationStreamingMode.HoldBack;
        ChatOptions? current = options;
        DegenerationFinding? previous = null;
        for (int attempt = 1; ; attempt++)
        {
            var tracker = new OutputTracker(Tokenizer());
            var held = new Queue<(ChatResponseUpdate Update, int TokensAtEnd)>();
            bool shown = false;
            DegenerationFinding? finding = null;
            ChatResponseUpdate? template = null;
            await foreach (var update in base.GetStreamingResponseAsync(list, current, cancellationToken))
            {
                template ??= update;
                tracker.Add(update.Text);
                if ((finding = _detector.Check(tracker.Tokens)) is not null) break;
                if (update.FinishReason is not null && previous is not null)
                    Annotate(update.AdditionalProperties ??= [], previous, attempt, current, resolved: true, null);
                if (!holdBack)
                {
                    shown = true;
                    yield return update;
                    continue;
                }
                held.Enqueue((update, tracker.Tokens.Count));
                while (held.Count > 0 && tracker.Tokens.Count - held.Peek().TokensAtEnd >= Options.HoldBackTokens)
                {
                    shown = true;
                    yield return held.Dequeue().Update;
                }
            }
            if (finding is null)
            {
                while (held.Count > 0) yield return held.Dequeue().Update;
                yield break;
            }

            Triggered(finding, attempt);
            if (holdBack && !shown && attempt <= Options.MaxRetries)
            {
                previous = finding;
                current = Remedied(options, attempt);
                continue;
            }

            // Text is on the screen already (or retries are used up): end here and say why.
            if (shown) SamplingLog.StreamEnded(_logger, held.Count);
            else Unresolved(attempt - 1);
            if (!shown) while (held.Count > 0) yield return held.Dequeue().Update; // nothing shown yet: show the loop, marked
            var last = new ChatResponseUpdate
            {
                Role = ChatRole.Assistant,
                ResponseId = template?.ResponseId,
                MessageId = template?.MessageId,
                ModelId = template?.ModelId,
                CreatedAt = template?.CreatedAt,
                FinishReason = DegenerateFinishReason,
                AdditionalProperties = [],
            };
            if (shown) _unresolved.Add(1);
            Annotate(last.AdditionalProperties, finding, attempt, current, resolved: false, tracker.CharacterAt(finding.LoopStartToken));
            yield return last;
            yield break;
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsMeter) _meter.Dispose();
        base.Dispose(disposing);
    }


    /// <summary>Beams and several candidates cannot stream: check each returned message.</summary>
    private static bool IsMultiple(ChatOptions? options) => options?.AdditionalProperties is { } extra
        && ((extra.TryGetValue(LocalLlmOptionKeys.NumBeams, out int beams) && beams > 1) || (extra.TryGetValue(LocalLlmOptionKeys.CandidateCount, out int n) && n > 1));

    private async Task<(ChatResponse, DegenerationFinding?, int?)> CheckWholeAsync(IReadOnlyList<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        var response = await base.GetResponseAsync(messages, options, cancellationToken);
        foreach (var message in response.Messages)
        {
            var tracker = new OutputTracker(Tokenizer());
            tracker.Add(message.Text);
            if (_detector.Check(tracker.Tokens) is { } finding) return (response, finding, tracker.CharacterAt(finding.LoopStartToken));
        }
        return (response, null, null);
    }

    /// <summary>One answer through the inner stream, stopped as soon as it loops (no point generating the rest).</summary>
    private async Task<(ChatResponse, DegenerationFinding?, int?)> CollectAsync(IReadOnlyList<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        var tracker = new OutputTracker(Tokenizer());
        var updates = new List<ChatResponseUpdate>();
        DegenerationFinding? finding = null;
        await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            updates.Add(update);
            tracker.Add(update.Text);
            if ((finding = _detector.Check(tracker.Tokens, LogProbabilities(update))) is not null) break;
        }
        var response = updates.ToChatResponse();
        if (updates.Count > 0 && updates[^1].AdditionalProperties is { } extra)
        {
            response.AdditionalProperties ??= [];
            foreach (var (key, value) in extra) response.AdditionalProperties[key] = value;
        }
        return (response, finding, finding is null ? null : tracker.CharacterAt(finding.LoopStartToken));
    }

    private static IReadOnlyList<double>? LogProbabilities(ChatResponseUpdate update) =>
        update.AdditionalProperties?.TryGetValue(LocalLlmResponseExtensions.LogProbabilitiesKey, out var v) == true ? v as IReadOnlyList<double> : null;

    /// <summary>The caller's options (cloned) with the first <paramref name="count"/> remedies, cumulatively.</summary>
    private ChatOptions Remedied(ChatOptions? original, int count)
    {
        ChatOptions result = original?.Clone() ?? new ChatOptions();
        bool beams = result.AdditionalProperties?.TryGetValue(LocalLlmOptionKeys.NumBeams, out int b) == true && b > 1;
        var applied = Options.Remedies.Take(count).ToList();
        foreach (var remedy in applied)
        {
            switch (remedy)
            {
                case DegenerationRemedy.RaiseTemperature when !beams:
                    result.Temperature = (result.Temperature ?? 0f) + Options.TemperatureIncrease;
                    break;
                case DegenerationRemedy.RepetitionPenalty:
                    double existing = result.AdditionalProperties?.TryGetValue(LocalLlmOptionKeys.RepetitionPenalty, out double rp) == true ? rp : 1.0;
                    result.WithRepetitionPenalty(Math.Max(existing, Options.RetryRepetitionPenalty));
                    break;
                case DegenerationRemedy.NoRepeatNgram:
                    int size = result.AdditionalProperties?.TryGetValue(LocalLlmOptionKeys.NoRepeatNgramSize, out int s) == true && s > 0 ? Math.Min(s, Options.RetryNoRepeatNgramSize) : Options.RetryNoRepeatNgramSize;
                    result.WithNoRepeatNgramSize(size);
                    break;
            }
        }
        var added = count <= Options.Remedies.Count ? Options.Remedies[count - 1] : (DegenerationRemedy?)null;
        _retries.Add(1);
        if (added is { } r)
        {
            _remedies.Add(1, new KeyValuePair<string, object?>("remedy", r.ToString()));
            SamplingLog.Retrying(_logger, r, count + 1);
        }
        return result;
    }

    private void Annotate(AdditionalPropertiesDictionary target, DegenerationFinding finding, int attempts, ChatOptions? current, bool resolved, int? loopStart)
    {
        var remedies = Options.Remedies.Take(attempts - 1).ToList();
        target[ReportKey] = new DegenerationReport(finding, attempts, remedies, resolved, loopStart);
    }

    private void Triggered(DegenerationFinding finding, int attempt)
    {
        _triggers.Add(1, new KeyValuePair<string, object?>("signal", finding.Signal.ToString()));
        SamplingLog.Detected(_logger, attempt, finding.Signal, finding.Tokens, finding.Detail);
    }

    private void Unresolved(int retries)
    {
        _unresolved.Add(1);
        SamplingLog.Unresolved(_logger, retries, DegenerateFinishReason.Value);
    }

    private Func<string, IReadOnlyList<int>> Tokenizer()
    {
        if (_tokenize is not null) return _tokenize;
        if (Options.Tokenize is { } custom) return _tokenize = custom;
        if (InnerClient.GetService<LocalModel>() is { } model)
        {
            int[] prefix = model.Encode(""); // special tokens the tokenizer adds to any text (e.g. <s>)
            return _tokenize = text =>
            {
                int[] ids = model.Encode(text);
                return prefix.Length > 0 && ids.AsSpan().StartsWith(prefix) ? ids[prefix.Length..] : ids;
            };
        }
        return _tokenize = static text => [.. text.Select(c => (int)c)];
    }

    /// <summary>Output so far as token ids, with the character offset at which each update's text starts.</summary>
    private sealed class OutputTracker(Func<string, IReadOnlyList<int>> tokenize)
    {
        private readonly List<(int Tokens, int Characters)> _marks = [];
        private int _characters;

        public List<int> Tokens { get; } = [];

        public void Add(string text)
        {
            if (text.Length == 0) return;
            _marks.Add((Tokens.Count, _characters));
            Tokens.AddRange(tokenize(text));
            _characters += text.Length;
        }

        /// <summary>The character offset of the update that holds token <paramref name="token"/> (update granularity).</summary>
        public int CharacterAt(int token)
        {
            int at = 0;
            foreach (var (tokens, characters) in _marks)
            {
                if (tokens > token) break;
                at = characters;
            }
            return at;
        }
    }
}
