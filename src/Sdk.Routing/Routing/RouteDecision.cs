using System.Globalization;

namespace LocalLlm.Routing;

/// <summary>Which tier answered a request and why. Read it with <c>response.GetRouteDecision()</c>.</summary>
public sealed class RouteDecision
{
    /// <summary>Initializes a new instance of the <see cref="RouteDecision"/> class.</summary>
    /// <param name="tier">The tier that produced the answer.</param>
    /// <param name="selectedTier">The tier the strategies chose first.</param>
    /// <param name="strategy">The strategy that chose it (<c>default</c> when every strategy abstained).</param>
    /// <param name="reason">The strategy's reason.</param>
    /// <param name="escalation">Why the answer came from another tier than the one chosen, if it did.</param>
    /// <param name="confidence">The cascade's confidence in the small tier's answer, when it measured one.</param>
    /// <param name="routerOverhead">Time spent choosing the tier (strategies only, not tier calls).</param>
    /// <param name="attempts">Every tier call made for the request, in order.</param>
    /// <exception cref="ArgumentNullException">A string or <paramref name="attempts"/> is <see langword="null"/>.</exception>
    public RouteDecision(string tier, string selectedTier, string strategy, string reason, EscalationReason escalation,
        double? confidence, TimeSpan routerOverhead, IReadOnlyList<TierAttempt> attempts)
    {
        Tier = tier ?? throw new ArgumentNullException(nameof(tier));
        SelectedTier = selectedTier ?? throw new ArgumentNullException(nameof(selectedTier));
        Strategy = strategy ?? throw new ArgumentNullException(nameof(strategy));
        Reason = reason ?? throw new ArgumentNullException(nameof(reason));
        Escalation = escalation;
        Confidence = confidence;
        RouterOverhead = routerOverhead;
        Attempts = attempts ?? throw new ArgumentNullException(nameof(attempts));
    }

    /// <summary>Gets the tier that produced the answer.</summary>
    public string Tier { get; }

    /// <summary>Gets the tier the strategies chose first.</summary>
    public string SelectedTier { get; }

    /// <summary>Gets the strategy that chose <see cref="SelectedTier"/>.</summary>
    public string Strategy { get; }

    /// <summary>Gets the strategy's reason for its choice.</summary>
    public string Reason { get; }

    /// <summary>Gets why the answer came from another tier than <see cref="SelectedTier"/>; <see cref="EscalationReason.None"/> if it did not.</summary>
    public EscalationReason Escalation { get; }

    /// <summary>Gets the cascade's confidence (0-1) in the small tier's answer, when it measured one.</summary>
    public double? Confidence { get; }

    /// <summary>Gets the time spent choosing the tier.</summary>
    public TimeSpan RouterOverhead { get; }

    /// <summary>Gets every tier call made for the request, in order.</summary>
    public IReadOnlyList<TierAttempt> Attempts { get; }

    /// <summary>Gets a short text such as <c>large (rules:tools-required)</c> or <c>large (cascade from small: LowConfidence)</c>.</summary>
    /// <returns>The summary.</returns>
    public override string ToString() => Escalation == EscalationReason.None
        ? string.Create(CultureInfo.InvariantCulture, $"{Tier} ({Strategy}: {Reason})")
        : string.Create(CultureInfo.InvariantCulture, $"{Tier} ({Strategy}: {Reason}; from {SelectedTier}: {Escalation})");
}
