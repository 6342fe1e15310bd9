namespace LocalLlm.Routing.Tests.Strategies;

public sealed class StrategyTests
{
    [Fact]
    public async Task IntentRoutingStrategy_ConstrainsTheRouterToTheLabelsWithARegexGrammar()
    {
        var router = new FakeChatClient("router") { OnGetResponse = (_, _, _) => Task.FromResult(FakeChatClient.Answer(" Reasoning\n")) };
        var strategy = new IntentRoutingStrategy(router, new Dictionary<string, string> { ["chitchat"] = "small", ["reasoning"] = "large", ["a.b"] = "small" });

        RouteChoice? choice = await strategy.ChooseAsync(new RoutingRequest(Tiers.Ask("why?"), null), default);

        Assert.Equal("large", choice!.Tier);
        Assert.Equal(@"(chitchat|reasoning|a\.b)", router.LastOptions!.AdditionalProperties![LocalLlmOptionKeys.RegexGrammar]);
        Assert.Equal(0f, router.LastOptions.Temperature);
    }

    [Fact]
    public async Task IntentRoutingStrategy_OutsideLabelsOrRouterFailure_Abstains()
    {
        var router = new FakeChatClient("router") { OnGetResponse = (_, _, _) => Task.FromResult(FakeChatClient.Answer("poetry")) };
        var strategy = new IntentRoutingStrategy(router, new Dictionary<string, string> { ["chitchat"] = "small" });
        Assert.Null(await strategy.ChooseAsync(new RoutingRequest(Tiers.Ask("x"), null), default));

        router.OnGetResponse = (_, _, _) => throw new InvalidOperationException("router down");
        Assert.Null(await strategy.ChooseAsync(new RoutingRequest(Tiers.Ask("x"), null), default));
    }

    [Fact]
    public async Task LogProbabilityConfidenceEstimator_GeometricMeanOfTokenProbabilities()
    {
        var estimator = new LogProbabilityConfidenceEstimator();
        ChatOptions prepared = estimator.PrepareOptions(new ChatOptions());
        var response = FakeChatClient.Answer("ok");
        response.AdditionalProperties = new() { [LocalLlmResponseExtensions.LogProbabilitiesKey] = new[] { Math.Log(0.5), Math.Log(0.125) } };
        var streamed = FakeChatClient.Answer("ok");
        streamed.Messages[0].AdditionalProperties = new() { [LocalLlmResponseExtensions.LogProbabilitiesKey] = new[] { Math.Log(0.5) } };

        Assert.Equal(true, prepared.AdditionalProperties![LocalLlmOptionKeys.LogProbabilities]);
        Assert.Equal(0.25, (await estimator.EstimateAsync([], response, default))!.Value, 12);
        Assert.Equal(0.5, (await estimator.EstimateAsync([], streamed, default))!.Value, 12);
        Assert.Null(await estimator.EstimateAsync([], FakeChatClient.Answer("no logprobs"), default));
    }

    [Fact]
    public async Task Cascade_LogProbabilities_AsksTheSmallTierForThemAndEscalatesWhenLow()
    {
        var tiers = new Tiers();
        tiers.Small.OnGetResponse = (_, o, _) =>
        {
            var r = FakeChatClient.Answer("guess");
            if (o?.AdditionalProperties?.ContainsKey(LocalLlmOptionKeys.LogProbabilities) == true)
                r.AdditionalProperties = new() { [LocalLlmResponseExtensions.LogProbabilitiesKey] = new[] { Math.Log(0.3), Math.Log(0.3) } };
            return Task.FromResult(r);
        };
        using var router = tiers.Cascade(new LogProbabilityConfidenceEstimator(), minConfidence: 0.5);
        var callerOptions = new ChatOptions();

        RouteDecision d = (await router.GetResponseAsync(Tiers.Ask("hi"), callerOptions)).GetRouteDecision()!;

        Assert.Equal(("large", EscalationReason.LowConfidence), (d.Tier, d.Escalation));
        Assert.Equal(0.3, d.Confidence!.Value, 9);
        Assert.Null(callerOptions.AdditionalProperties); // the caller's options are not changed
    }

    [Fact]
    public async Task Cascade_SmallTierThrowsStructuredOutputException_EscalatesAsInvalidStructuredOutput()
    {
        var tiers = new Tiers();
        tiers.Small.OnGetResponse = (_, _, _) => throw new StructuredOutputException("bad json", "{\"a\":1}}");
        using var router = tiers.Cascade();

        RouteDecision d = (await router.GetResponseAsync(Tiers.Ask("json please"))).GetRouteDecision()!;

        Assert.Equal(("large", EscalationReason.InvalidStructuredOutput), (d.Tier, d.Escalation));
    }

    [Fact]
    public async Task Cascade_SmallTierThrowsPromptLengthException_EscalatesAsContextOverflow()
    {
        var tiers = new Tiers();
        tiers.Small.OnGetResponse = (_, _, _) => throw new PromptLengthException(5000, 2048);
        using var router = tiers.Cascade();

        RouteDecision d = (await router.GetResponseAsync(Tiers.Ask("long"))).GetRouteDecision()!;

        Assert.Equal(("large", EscalationReason.ContextOverflow), (d.Tier, d.Escalation));
    }
}
