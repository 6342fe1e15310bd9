using Microsoft.Extensions.AI;

namespace LocalLlm.Routing;

/// <summary>One call to one tier while answering a request.</summary>
/// <param name="Tier">The tier's name.</param>
/// <param name="Duration">Time spent in the tier (for streaming, excluding time the caller spent on updates).</param>
/// <param name="Usage">Token counts the tier reported, if any.</param>
/// <param name="Cost">Cost of the reported tokens at the tier's configured prices.</param>
/// <param name="Outcome">What happened: <see cref="EscalationReason.None"/> when the answer was accepted, otherwise why the router moved on.</param>
/// <param name="Error">The exception type and message when the tier failed.</param>
public sealed record TierAttempt(string Tier, TimeSpan Duration, UsageDetails? Usage, decimal Cost, EscalationReason Outcome, string? Error);
