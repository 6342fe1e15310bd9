using Microsoft.Extensions.AI;

namespace LocalLlm.Routing;

/// <summary>Reads the router's annotation from responses.</summary>
public static class RouteDecisionExtensions
{
    /// <summary>Gets the routing decision for a response produced by a <see cref="HybridRoutingChatClient"/>.</summary>
    /// <param name="response">The response.</param>
    /// <returns>The decision, or <see langword="null"/> if the response did not pass through a router.</returns>
    /// <remarks>
    /// A response built from streamed updates (<c>ToChatResponse()</c>) keeps the updates' properties on its
    /// message, so the message is searched too; the last decision wins.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="response"/> is <see langword="null"/>.</exception>
    public static RouteDecision? GetRouteDecision(this ChatResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.AdditionalProperties?.TryGetValue(RoutingPropertyNames.Decision, out object? value) == true)
            return value as RouteDecision;
        for (int i = response.Messages.Count - 1; i >= 0; i--)
        {
            if (response.Messages[i].AdditionalProperties?.TryGetValue(RoutingPropertyNames.Decision, out value) == true)
                return value as RouteDecision;
        }
        return null;
    }

    /// <summary>Gets the routing decision carried by a streaming update (the router annotates the first update it yields).</summary>
    /// <param name="update">The update.</param>
    /// <returns>The decision, or <see langword="null"/> if this update carries none.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="update"/> is <see langword="null"/>.</exception>
    public static RouteDecision? GetRouteDecision(this ChatResponseUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        return update.AdditionalProperties?.TryGetValue(RoutingPropertyNames.Decision, out object? value) == true
            ? value as RouteDecision
            : null;
    }

    internal static void Annotate(AdditionalPropertiesDictionary properties, RouteDecision decision)
    {
        properties[RoutingPropertyNames.Decision] = decision;
        properties[RoutingPropertyNames.Tier] = decision.Tier;
        properties[RoutingPropertyNames.Reason] = decision.ToString();
    }
}
