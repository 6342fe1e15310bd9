namespace LocalLlm.Routing.Strategies;

/// <summary>A strategy's choice of tier.</summary>
/// <param name="Tier">The tier's name.</param>
/// <param name="Reason">Why, in a few words (kept in the response's <see cref="RouteDecision"/>).</param>
public sealed record RouteChoice(string Tier, string Reason);
