using LocalLlm.Routing.Cascade;
using LocalLlm.Routing.Strategies;

namespace LocalLlm.Routing;

/// <summary>How a <see cref="HybridRoutingChatClient"/> chooses tiers.</summary>
public sealed class HybridRoutingOptions
{
    /// <summary>Gets or sets the tier that answers when every strategy abstains.</summary>
    /// <value>The default is <c>small</c>.</value>
    public string DefaultTier { get; set; } = "small";

    /// <summary>Gets the strategies, asked in order; the first choice wins.</summary>
    public IList<IRoutingStrategy> Strategies { get; } = [];

    /// <summary>Gets or sets the cascade: when the chosen tier is its source, the answer is checked and escalated if it falls short.</summary>
    /// <value>The default is <see langword="null"/> (no cascade).</value>
    public CascadeOptions? Cascade { get; set; }
}
