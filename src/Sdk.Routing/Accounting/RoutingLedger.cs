namespace LocalLlm.Routing.Accounting;

/// <summary>
/// Running totals of routed traffic: per tier calls, tokens, latency and cost, and escalations by reason.
/// Thread-safe; register one per application (AddHybridRouting does) and read <see cref="GetTotals"/>.
/// </summary>
public sealed class RoutingLedger
{
    private readonly object _lock = new();
    private readonly Dictionary<string, TierTotals> _tiers = new(StringComparer.Ordinal);
    private readonly Dictionary<EscalationReason, long> _escalations = [];
    private long _requests;

    /// <summary>Gets a consistent snapshot of the totals.</summary>
    /// <returns>The totals so far.</returns>
    public RoutingTotals GetTotals()
    {
        lock (_lock)
            return new RoutingTotals(_requests, new Dictionary<string, TierTotals>(_tiers, StringComparer.Ordinal), new Dictionary<EscalationReason, long>(_escalations));
    }

    /// <summary>Records one finished request.</summary>
    /// <param name="decision">The request's decision (its attempts carry tokens, time and cost).</param>
    /// <param name="answered"><see langword="true"/> if a tier answered; <see langword="false"/> if the request failed or was abandoned.</param>
    /// <exception cref="ArgumentNullException"><paramref name="decision"/> is <see langword="null"/>.</exception>
    public void Record(RouteDecision decision, bool answered)
    {
        ArgumentNullException.ThrowIfNull(decision);
        lock (_lock)
        {
            _requests++;
            foreach (TierAttempt attempt in decision.Attempts)
            {
                TierTotals t = _tiers.GetValueOrDefault(attempt.Tier) ?? TierTotals.Empty;
                bool failed = attempt.Outcome is EscalationReason.TierFailed or EscalationReason.ContextOverflow;
                _tiers[attempt.Tier] = t with
                {
                    Calls = t.Calls + 1,
                    Failures = t.Failures + (failed ? 1 : 0),
                    InputTokens = t.InputTokens + (attempt.Usage?.InputTokenCount ?? 0),
                    OutputTokens = t.OutputTokens + (attempt.Usage?.OutputTokenCount ?? 0),
                    Latency = t.Latency + attempt.Duration,
                    Cost = t.Cost + attempt.Cost,
                };
            }
            if (answered)
            {
                TierTotals t = _tiers.GetValueOrDefault(decision.Tier) ?? TierTotals.Empty;
                _tiers[decision.Tier] = t with { Answers = t.Answers + 1 };
            }
            if (decision.Escalation != EscalationReason.None)
                _escalations[decision.Escalation] = _escalations.GetValueOrDefault(decision.Escalation) + 1;
        }
    }
}

/// <summary>A snapshot of a <see cref="RoutingLedger"/>.</summary>
/// <param name="Requests">Requests routed (answered, failed or abandoned).</param>
/// <param name="Tiers">Totals per tier name.</param>
/// <param name="Escalations">Requests that left their chosen tier, by reason.</param>
public sealed record RoutingTotals(long Requests, IReadOnlyDictionary<string, TierTotals> Tiers, IReadOnlyDictionary<EscalationReason, long> Escalations)
{
    /// <summary>Gets the total cost over all tiers.</summary>
    public decimal Cost => Tiers.Values.Sum(t => t.Cost);
}

/// <summary>Totals for one tier.</summary>
/// <param name="Calls">Calls made to the tier (including ones that failed or were escalated).</param>
/// <param name="Answers">Requests the tier answered.</param>
/// <param name="Failures">Calls that failed (exception, timeout, context overflow).</param>
/// <param name="InputTokens">Input tokens the tier reported.</param>
/// <param name="OutputTokens">Output tokens the tier reported.</param>
/// <param name="Latency">Time spent in the tier's calls.</param>
/// <param name="Cost">Cost of the reported tokens at the tier's prices.</param>
public sealed record TierTotals(long Calls, long Answers, long Failures, long InputTokens, long OutputTokens, TimeSpan Latency, decimal Cost)
{
    internal static readonly TierTotals Empty = new(0, 0, 0, 0, 0, TimeSpan.Zero, 0m);
}
