using LocalLlm.Routing.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace LocalLlm.Routing;

/// <summary>The state of one routed request: the choice, the attempts and what answered.</summary>
internal sealed class RouteExecution(IReadOnlyList<ChatMessage> messages, ILogger logger)
{
    private readonly List<TierAttempt> _attempts = [];

    public IReadOnlyList<ChatMessage> Messages { get; } = messages;

    /// <summary>The caller's context: every tier runs on it, even after a failover base that does not keep it.</summary>
    public SynchronizationContext? CallerContext { get; } = SynchronizationContext.Current;

    public string SelectedTier { get; set; } = "";

    public string Strategy { get; set; } = "";

    public string Reason { get; set; } = "";

    public TimeSpan Overhead { get; set; }

    public double? Confidence { get; set; }

    public TierCall? AnsweredBy { get; private set; }

    /// <summary>The cascade source's answer, kept in case escalation fails.</summary>
    public TierCall? HeldBackBy { get; private set; }

    public ChatResponse? HeldBackResponse { get; private set; }

    public IReadOnlyList<ChatResponseUpdate>? HeldBackUpdates { get; private set; }

    public void Answered(TierCall call) => AnsweredBy ??= call;

    public void HoldBack(TierCall call, ChatResponse response, IReadOnlyList<ChatResponseUpdate>? updates)
    {
        HeldBackBy = call;
        HeldBackResponse = response;
        HeldBackUpdates = updates;
    }

    /// <summary>Answers with the held-back cascade answer after every later tier failed.</summary>
    public void UseHeldBack(Exception escalationFailure)
    {
        RoutingLog.EscalationFailedUsingHeldBack(logger, HeldBackBy!.Tier.Name, escalationFailure);
        AnsweredBy = HeldBackBy;
    }

    public void RecordAttempt(TierCall call, TimeSpan duration, Exception? exception, bool isTerminal)
    {
        EscalationReason outcome = exception switch
        {
            null => EscalationReason.None,
            CascadeEscalationException e => e.Reason,
            _ when call.Cascade?.IsContextOverflow(exception) == true => EscalationReason.ContextOverflow,
            _ => EscalationReason.TierFailed,
        };
        string? error = exception is null or CascadeEscalationException ? null : $"{exception.GetType().Name}: {exception.Message}";
        _attempts.Add(new TierAttempt(call.Tier.Name, duration, call.Usage, call.Tier.CostOf(call.Usage), outcome, error));
        if (exception is CascadeEscalationException)
            return;
        if (exception is not null && exception is not OperationCanceledException)
            RoutingLog.TierFailed(logger, call.Tier.Name, outcome, isTerminal ? "no tier left" : "failing over", exception);
    }

    public RouteDecision Decide(bool log)
    {
        string answered = AnsweredBy?.Tier.Name ?? SelectedTier;
        EscalationReason escalation = answered == SelectedTier || _attempts.Count == 0 ? EscalationReason.None : _attempts[0].Outcome;
        if (log && escalation != EscalationReason.None)
            RoutingLog.Escalated(logger, SelectedTier, answered, escalation);
        return new RouteDecision(answered, SelectedTier, Strategy, Reason, escalation, Confidence, Overhead, [.. _attempts]);
    }
}
