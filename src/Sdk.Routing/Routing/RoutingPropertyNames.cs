namespace LocalLlm.Routing;

/// <summary>
/// Keys of the <see cref="Microsoft.Extensions.AI.ChatResponse.AdditionalProperties"/> entries the router reads
/// and writes. Read the decision with <see cref="RouteDecisionExtensions.GetRouteDecision(Microsoft.Extensions.AI.ChatResponse)"/>.
/// </summary>
public static class RoutingPropertyNames
{
    /// <summary>The <see cref="RouteDecision"/> for the response (the typed value).</summary>
    public const string Decision = "localllm.routing.decision";

    /// <summary>The name of the tier that produced the response (a string).</summary>
    public const string Tier = "localllm.routing.tier";

    /// <summary>Why that tier answered, for logs and people (a string such as <c>rules:tools-required</c>).</summary>
    public const string Reason = "localllm.routing.reason";

}
