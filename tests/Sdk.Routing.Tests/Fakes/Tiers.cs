namespace LocalLlm.Routing.Tests.Fakes;

/// <summary>A small and a large fake tier that fail over to each other, and a router over them.</summary>
internal sealed class Tiers
{
    public FakeChatClient Small { get; } = new("small");

    public FakeChatClient Large { get; } = new("large");

    public RoutingTier SmallTier { get; }

    public RoutingTier LargeTier { get; }

    public Tiers()
    {
        SmallTier = new RoutingTier("small", Small) { FailoverTo = "large", InputPricePer1kTokens = 0.1m, OutputPricePer1kTokens = 0.2m };
        LargeTier = new RoutingTier("large", Large) { FailoverTo = "small", InputPricePer1kTokens = 3m, OutputPricePer1kTokens = 6m };
    }

    public HybridRoutingChatClient Router(HybridRoutingOptions? options = null) => new([SmallTier, LargeTier], options);

    public HybridRoutingChatClient Cascade(ConfidenceEstimator? confidence = null, double minConfidence = 0.5)
    {
        var options = new HybridRoutingOptions { Cascade = new CascadeOptions { Confidence = confidence, MinConfidence = minConfidence } };
        return Router(options);
    }

    public static ChatMessage[] Ask(string text) => [new(ChatRole.User, text)];
}
