using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace LocalLlm.Guardrails;

/// <summary>The result of running one stage's checks over one text.</summary>
internal sealed class GuardrailOutcome(EditedText text)
{
    public EditedText Text { get; } = text;

    public List<GuardrailFinding> Findings { get; } = [];

    /// <summary>The finding that blocked the text, or null.</summary>
    public GuardrailFinding? Block { get; set; }
}

/// <summary>Runs a stage's checks in cost order, applies each category's policy, and records what happened.</summary>
internal sealed class GuardrailRunner
{
    private readonly GuardrailsOptions _options;
    private readonly ILogger _logger;
    private readonly GuardrailsTelemetry _telemetry;
    private readonly IGuardrailCheck[] _input;
    private readonly IGuardrailCheck[] _output;

    public GuardrailRunner(GuardrailsOptions options, ILogger logger, GuardrailsTelemetry telemetry)
    {
        _options = options;
        _logger = logger;
        _telemetry = telemetry;
        // Cheap checks first (stable: equal costs keep the order they were added in).
        _input = [.. options.InputChecks.OrderBy(c => c.Cost)];
        _output = [.. options.OutputChecks.OrderBy(c => c.Cost)];
    }

    public bool HasInputChecks => _input.Length > 0;

    public bool HasOutputChecks => _output.Length > 0;

    public bool OutputNeedsCompleteText(ChatOptions? options) => _output.Any(c => c.NeedsCompleteText(options));

    public string Fallback(string category) => _options.FallbackFor(category);

    public ValueTask<GuardrailOutcome> RunAsync(GuardrailStage stage, string text, IReadOnlyList<ChatMessage> messages, ChatOptions? chatOptions, bool isPartial, CancellationToken cancellationToken)
        => RunAsync(stage, text, messages, chatOptions, isPartial, record: true, offset: 0, cancellationToken);

    /// <summary>Counts and logs a finding that a run with <c>record: false</c> found (a streamed window's), once.</summary>
    public void Record(GuardrailFinding finding)
    {
        _telemetry.Verdict(finding.Stage, finding.Check, finding.Category, finding.Action);
        Log.Finding(_logger, finding.Check, GuardrailsTelemetry.StageName(finding.Stage), finding.Category, finding.Score, GuardrailsTelemetry.ActionName(finding.Action));
    }

    // record: false for the windows of a growing stream; only a block is counted and logged here, the stream records
    // the rest once. offset: where text starts in the whole answer (a streamed window).
    public async ValueTask<GuardrailOutcome> RunAsync(GuardrailStage stage, string text, IReadOnlyList<ChatMessage> messages, ChatOptions? chatOptions, bool isPartial, bool record, int offset, CancellationToken cancellationToken)
    {
        var outcome = new GuardrailOutcome(new EditedText(text));
        var checks = stage == GuardrailStage.Input ? _input : _output;
        string stageName = GuardrailsTelemetry.StageName(stage);
        foreach (var check in checks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string current = outcome.Text.Text;
            var context = new GuardrailContext(stage, current) { IsPartial = isPartial, Offset = offset, Messages = messages, Options = chatOptions };
            GuardrailVerdict verdict;
            long started = Stopwatch.GetTimestamp();
            try
            {
                verdict = await check.CheckAsync(context, cancellationToken) ?? throw new InvalidOperationException($"Guardrail check {check.Name} returned null; return GuardrailVerdict.Allow instead.");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // A failing check must not fail the request: the configured failure mode decides.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.CheckFailed(_logger, check.Name, stageName, ex.GetType().Name, _options.FailureMode);
                Log.CheckFailedDetails(_logger, check.Name, ex);
                if (_options.FailureMode == GuardrailFailureMode.FailOpen)
                {
                    if (record)
                        _telemetry.Verdict(stage, check.Name, GuardrailsOptions.CheckFailedCategory, GuardrailAction.Allow);
                    continue;
                }
                verdict = GuardrailVerdict.Reject(GuardrailsOptions.CheckFailedCategory, 1, "The check threw; failing closed.");
            }
            finally
            {
                _telemetry.Duration(stage, check.Name, Stopwatch.GetElapsedTime(started));
            }

            if (verdict.Kind == GuardrailVerdictKind.Allow)
            {
                if (record)
                    _telemetry.Verdict(stage, check.Name, "none", GuardrailAction.Allow);
                continue;
            }

            string category = verdict.Category!;
            var action = _options.PolicyFor(category, verdict.Kind).Action;
            if (action == GuardrailAction.Redact)
            {
                if (verdict.Kind == GuardrailVerdictKind.Reject)
                {
                    action = GuardrailAction.Block; // nothing to redact with: a rejection without edits blocks
                }
                else
                {
                    var edits = verdict.ReplacementText is { } whole ? [new TextEdit(0, current.Length, whole)] : verdict.Edits;
                    try
                    {
                        outcome.Text.Apply(edits);
                    }
                    catch (ArgumentException)
                    {
                        // A check that returns impossible edits is a failing check.
                        Log.CheckFailed(_logger, check.Name, stageName, nameof(ArgumentException), _options.FailureMode);
                        if (_options.FailureMode == GuardrailFailureMode.FailOpen)
                            continue;
                        category = GuardrailsOptions.CheckFailedCategory;
                        action = GuardrailAction.Block;
                    }
                }
            }

            var finding = new GuardrailFinding(stage, check.Name, category, action, verdict.Score, verdict.Reason);
            outcome.Findings.Add(finding);
            if (record || action == GuardrailAction.Block)
            {
                _telemetry.Verdict(stage, check.Name, category, action);
                Log.Finding(_logger, check.Name, stageName, category, verdict.Score, GuardrailsTelemetry.ActionName(action));
            }
            if (action == GuardrailAction.Block)
            {
                outcome.Block = finding;
                return outcome; // short-circuit: later (more expensive) checks don't run
            }
        }
        return outcome;
    }
}
