namespace LocalLlm.Routing.Strategies;

/// <summary>
/// Chooses a tier for a request, or abstains. A router asks its strategies in order and takes the first choice;
/// when all abstain, the router's default tier answers.
/// </summary>
public interface IRoutingStrategy
{
    /// <summary>Gets the strategy's name, recorded in <see cref="RouteDecision.Strategy"/>.</summary>
    string Name { get; }

    /// <summary>Chooses a tier.</summary>
    /// <param name="request">The request being routed.</param>
    /// <param name="cancellationToken">The request's cancellation token.</param>
    /// <returns>The choice, or <see langword="null"/> to let the next strategy decide.</returns>
    ValueTask<RouteChoice?> ChooseAsync(RoutingRequest request, CancellationToken cancellationToken);
}
