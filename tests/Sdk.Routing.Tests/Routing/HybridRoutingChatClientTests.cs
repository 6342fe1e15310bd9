using System.Runtime.CompilerServices;
using System.Text.Json;

namespace LocalLlm.Routing.Tests.Routing;

public sealed class HybridRoutingChatClientTests
{
    [Fact]
    public async Task GetResponseAsync_NoStrategies_DefaultTierAnswersAndResponseSaysSo()
    {
        var tiers = new Tiers();
        using var router = tiers.Router();

        ChatResponse response = await router.GetResponseAsync(Tiers.Ask("hi"));

        Assert.Equal("small answer", response.Text);
        RouteDecision decision = Assert.IsType<RouteDecision>(response.GetRouteDecision());
        Assert.Equal("small", decision.Tier);
        Assert.Equal("default", decision.Strategy);
        Assert.Equal(EscalationReason.None, decision.Escalation);
        Assert.Equal("small", response.AdditionalProperties![RoutingPropertyNames.Tier]);
        Assert.Equal(0, tiers.Large.Calls);
    }

    [Fact]
    public async Task GetResponseAsync_Rules_RouteToolsJsonLongPromptsAndKeywordsToLarge()
    {
        var tiers = new Tiers();
        var rules = new RuleRoutingStrategy(
        [
            RoutingRule.ToolsRequired("large"),
            RoutingRule.JsonMode("large"),
            RoutingRule.PromptLongerThan(100, "large"),
            RoutingRule.ContainsKeyword(["prove", "derive"], "large"),
            RoutingRule.ContextLongerThan(500, "large"),
        ]);
        var options = new HybridRoutingOptions { Strategies = { rules } };
        using var router = tiers.Router(options);

        async Task<RouteDecision> Route(ChatMessage[] messages, ChatOptions? chatOptions = null) =>
            (await router.GetResponseAsync(messages, chatOptions)).GetRouteDecision()!;

        Assert.Equal("small", (await Route(Tiers.Ask("what time is it"))).Tier);
        var tools = await Route(Tiers.Ask("weather?"), new ChatOptions { Tools = [AIFunctionFactory.Create(() => "sunny", "weather")] });
        Assert.Equal(("large", "rules", "tools-required"), (tools.Tier, tools.Strategy, tools.Reason));
        Assert.Equal("json-mode", (await Route(Tiers.Ask("list"), new ChatOptions { ResponseFormat = ChatResponseFormat.Json })).Reason);
        Assert.Equal("prompt-longer-than-100", (await Route(Tiers.Ask(new string('x', 101)))).Reason);
        Assert.Equal("keyword", (await Route(Tiers.Ask("Please PROVE it"))).Reason);
        ChatMessage[] longHistory = [new(ChatRole.System, new string('s', 600)), new(ChatRole.User, "and?")];
        Assert.Equal("context-longer-than-500", (await Route(longHistory)).Reason);
        Assert.Equal(5, tiers.Large.Calls);
        Assert.Equal(1, tiers.Small.Calls);
    }

    [Fact]
    public async Task GetResponseAsync_StrategyChoosesUnknownTier_ThrowsNamingTheTier()
    {
        var tiers = new Tiers();
        var options = new HybridRoutingOptions { Strategies = { new RuleRoutingStrategy([new RoutingRule("all", "medium", _ => true)]) } };
        using var router = tiers.Router(options);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => router.GetResponseAsync(Tiers.Ask("x")));
        Assert.Contains("'medium'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_BadConfiguration_ThrowsNamingTheSetting()
    {
        var tiers = new Tiers();
        Assert.Contains("DefaultTier", Assert.Throws<ArgumentException>(() => tiers.Router(new HybridRoutingOptions { DefaultTier = "tiny" })).Message, StringComparison.Ordinal);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => new HybridRoutingChatClient([tiers.SmallTier, tiers.SmallTier])).Message, StringComparison.Ordinal);
        var badFailover = new RoutingTier("small", tiers.Small) { FailoverTo = "huge" };
        Assert.Contains("FailoverTo", Assert.Throws<ArgumentException>(() => new HybridRoutingChatClient([badFailover])).Message, StringComparison.Ordinal);
        Assert.Contains("ToTier", Assert.Throws<ArgumentException>(() => tiers.Router(new HybridRoutingOptions { Cascade = new CascadeOptions { ToTier = "huge" } })).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new HybridRoutingChatClient([]));
    }

    [Fact]
    public async Task GetResponseAsync_SmallTierThrows_FailsOverToLargeWithReason()
    {
        var tiers = new Tiers();
        tiers.Small.OnGetResponse = async (_, _, _) =>
        {
            await Task.Yield();
            throw new InvalidOperationException("model crashed");
        };
        using var router = tiers.Router();

        ChatResponse response = await router.GetResponseAsync(Tiers.Ask("hi"));

        Assert.Equal("large answer", response.Text);
        RouteDecision d = response.GetRouteDecision()!;
        Assert.Equal(("large", "small", EscalationReason.TierFailed), (d.Tier, d.SelectedTier, d.Escalation));
        Assert.Equal(2, d.Attempts.Count);
        Assert.Contains("model crashed", d.Attempts[0].Error, StringComparison.Ordinal);
        Assert.Equal(EscalationReason.None, d.Attempts[1].Outcome);
    }

    [Fact]
    public async Task GetResponseAsync_SmallTierContextOverflow_EscalatesWithContextOverflow()
    {
        var tiers = new Tiers();
        tiers.Small.OnGetResponse = (_, _, _) => throw new ArgumentException("The prompt (5000 tokens) exceeds the model's context length (2048).");
        using var router = tiers.Cascade();

        RouteDecision d = (await router.GetResponseAsync(Tiers.Ask("long"))).GetRouteDecision()!;

        Assert.Equal(("large", EscalationReason.ContextOverflow), (d.Tier, d.Escalation));
    }

    [Fact]
    public async Task GetResponseAsync_AllTiersFail_ThrowsTheLastFailure()
    {
        var tiers = new Tiers();
        tiers.Small.OnGetResponse = (_, _, _) => throw new InvalidOperationException("small down");
        tiers.Large.OnGetResponse = (_, _, _) => throw new InvalidOperationException("large down");
        using var router = tiers.Router();

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => router.GetResponseAsync(Tiers.Ask("x")));

        Assert.Equal("large down", e.Message);
        var totals = router.Ledger.GetTotals();
        Assert.Equal(1, totals.Requests);
        Assert.Equal(1, totals.Tiers["small"].Failures);
        Assert.Equal(0, totals.Tiers["large"].Answers);
    }

    [Theory]
    [InlineData(0.9, "small", EscalationReason.None)]
    [InlineData(0.2, "large", EscalationReason.LowConfidence)]
    public async Task GetResponseAsync_Cascade_EscalatesBelowMinConfidence(double confidence, string tier, EscalationReason reason)
    {
        var tiers = new Tiers();
        var verifier = new VerifierConfidenceEstimator((_, response, _) =>
            ValueTask.FromResult<double?>(response.Text == "small answer" ? confidence : null));
        using var router = tiers.Cascade(verifier, minConfidence: 0.5);

        ChatResponse response = await router.GetResponseAsync(Tiers.Ask("hi"));

        RouteDecision d = response.GetRouteDecision()!;
        Assert.Equal($"{tier} answer", response.Text);
        Assert.Equal((tier, reason, confidence), (d.Tier, d.Escalation, d.Confidence!.Value));
        Assert.Equal(1, tiers.Small.Calls);
    }

    [Fact]
    public async Task GetResponseAsync_CascadeConfidenceUnknown_EscalatesByDefault()
    {
        var tiers = new Tiers();
        using var router = tiers.Cascade(new VerifierConfidenceEstimator((_, _, _) => ValueTask.FromResult<double?>(null)));

        Assert.Equal("large", (await router.GetResponseAsync(Tiers.Ask("hi"))).GetRouteDecision()!.Tier);
    }

    public static TheoryData<string> MarkerForms => ["typed", "json"];

    [Theory]
    [MemberData(nameof(MarkerForms))]
    public async Task GetResponseAsync_CascadeEscalationMarker_Escalates(string form)
    {
        var marker = new EscalationMarker("low_confidence", "guardrails");
        var tiers = new Tiers();
        tiers.Small.OnGetResponse = (_, _, _) =>
        {
            ChatResponse r = FakeChatClient.Answer("unsafe draft");
            r.AdditionalProperties = [];
            if (form == "typed")
                marker.MarkOn(r.AdditionalProperties);
            else // as a remote tier's response arrives: the marker after a trip through JSON
                r.AdditionalProperties[EscalationMarker.PropertyName] = System.Text.Json.JsonSerializer.SerializeToElement(new { reason = "low_confidence", source = "guardrails" });
            return Task.FromResult(r);
        };
        using var router = tiers.Cascade();

        ChatResponse response = await router.GetResponseAsync(Tiers.Ask("hi"));

        Assert.Equal("large answer", response.Text);
        Assert.Equal(EscalationReason.GuardrailEscalate, response.GetRouteDecision()!.Escalation);
    }

    [Fact]
    public async Task GetResponseAsync_CascadeJsonModeInvalidJson_EscalatesAndValidJsonStays()
    {
        var tiers = new Tiers();
        string smallJson = "{\"city\": \"Oslo\"}}";
        tiers.Small.OnGetResponse = (_, _, _) => Task.FromResult(FakeChatClient.Answer(smallJson));
        using var router = tiers.Cascade();
        var json = new ChatOptions { ResponseFormat = ChatResponseFormat.Json };

        RouteDecision invalid = (await router.GetResponseAsync(Tiers.Ask("city?"), json)).GetRouteDecision()!;
        smallJson = "{\"city\": \"Oslo\"}";
        ChatResponse valid = await router.GetResponseAsync(Tiers.Ask("city?"), json);

        Assert.Equal(("large", EscalationReason.InvalidStructuredOutput), (invalid.Tier, invalid.Escalation));
        Assert.Equal("small", valid.GetRouteDecision()!.Tier);
        Assert.Equal("Oslo", JsonDocument.Parse(valid.Text).RootElement.GetProperty("city").GetString());
    }

    [Fact]
    public async Task GetResponseAsync_EscalationTargetFails_AnswersWithHeldBackSmallAnswer()
    {
        var tiers = new Tiers();
        tiers.Large.OnGetResponse = (_, _, _) => throw new HttpRequestException("Connection refused");
        using var router = tiers.Cascade(new VerifierConfidenceEstimator((_, _, _) => ValueTask.FromResult<double?>(0.1)));

        ChatResponse response = await router.GetResponseAsync(Tiers.Ask("hi"));

        Assert.Equal("small answer", response.Text);
        RouteDecision d = response.GetRouteDecision()!;
        Assert.Equal("small", d.Tier);
        Assert.Equal([EscalationReason.LowConfidence, EscalationReason.TierFailed], d.Attempts.Select(a => a.Outcome));
    }

    [Fact]
    public async Task GetResponseAsync_TierTimesOut_FailsOverWithTimeoutRecorded()
    {
        var tiers = new Tiers();
        tiers.Large.OnGetResponse = async (_, _, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException("unreachable");
        };
        var large = new RoutingTier("large", tiers.Large) { FailoverTo = "small", Timeout = TimeSpan.FromMilliseconds(200) };
        var options = new HybridRoutingOptions { DefaultTier = "large" };
        using var router = new HybridRoutingChatClient([tiers.SmallTier, large], options);

        RouteDecision d = (await router.GetResponseAsync(Tiers.Ask("hi"))).GetRouteDecision()!;

        Assert.Equal(("small", EscalationReason.TierFailed), (d.Tier, d.Escalation));
        Assert.StartsWith("TimeoutException", d.Attempts[0].Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetResponseAsync_CallerCancels_ThrowsWithoutFailover()
    {
        var tiers = new Tiers();
        using var cts = new CancellationTokenSource();
        tiers.Small.OnGetResponse = async (_, _, ct) =>
        {
            await cts.CancelAsync();
            ct.ThrowIfCancellationRequested();
            return FakeChatClient.Answer("never");
        };
        using var router = tiers.Router();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => router.GetResponseAsync(Tiers.Ask("hi"), cancellationToken: cts.Token));

        Assert.Equal(0, tiers.Large.Calls);
        Assert.Equal(0, router.Ledger.GetTotals().Tiers["small"].Answers);
    }

    [Fact]
    public async Task GetResponseAsync_Dispose_TwiceIsSafeAndUseAfterThrows()
    {
        var tiers = new Tiers();
        var router = tiers.Router();
        router.Dispose();
        router.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => router.GetResponseAsync(Tiers.Ask("hi")));
        Assert.Throws<ObjectDisposedException>(() => router.GetStreamingResponseAsync(Tiers.Ask("hi")));
    }

    [Fact]
    public void GetService_ReturnsRouterLedgerAndTierServices()
    {
        var tiers = new Tiers();
        using var router = tiers.Router();

        Assert.Same(router, router.GetService<HybridRoutingChatClient>());
        Assert.Same(router.Ledger, router.GetService<LocalLlm.Routing.Accounting.RoutingLedger>());
        Assert.Same(tiers.Large, router.GetService<FakeChatClient>("large"));
        Assert.Null(router.GetService<FakeChatClient>("medium"));
    }

    [Fact]
    public async Task NullArguments_Throw()
    {
        var tiers = new Tiers();
        using var router = tiers.Router();
        Assert.Throws<ArgumentNullException>("tiers", () => new HybridRoutingChatClient(null!));
        Assert.Throws<ArgumentNullException>("client", () => new RoutingTier("small", null!));
        Assert.Throws<ArgumentNullException>("name", () => new RoutingTier(null!, tiers.Small));
        Assert.Throws<ArgumentNullException>("messages", () => router.GetStreamingResponseAsync(null!));
        await Assert.ThrowsAsync<ArgumentNullException>("messages", () => router.GetResponseAsync((IEnumerable<ChatMessage>)null!));
        Assert.Throws<ArgumentNullException>("response", () => ((ChatResponse)null!).GetRouteDecision());
        Assert.Throws<ArgumentNullException>("update", () => ((ChatResponseUpdate)null!).GetRouteDecision());
        Assert.Throws<ArgumentNullException>("verify", () => new VerifierConfidenceEstimator(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CascadeOptions { MinConfidence = 1.5 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new RoutingTier("x", tiers.Small) { Timeout = TimeSpan.Zero });
        Assert.Throws<ArgumentOutOfRangeException>(() => new RoutingTier("x", tiers.Small) { InputPricePer1kTokens = -1 });
    }

    [Fact]
    public async Task GetResponseAsync_SynchronizationContext_ReachesStrategiesAndEveryTier()
    {
        var tiers = new Tiers();
        tiers.Small.OnGetResponse = async (_, _, ct) =>
        {
            await Task.Delay(10, ct);
            throw new InvalidOperationException("fail after an await");
        };
        SynchronizationContext? seenByStrategy = null;
        var strategy = new RuleRoutingStrategy([new RoutingRule("spy", "small", _ =>
        {
            seenByStrategy = SynchronizationContext.Current;
            return true;
        })]);
        var asyncStrategy = new DelayStrategy();
        using var router = tiers.Router(new HybridRoutingOptions { Strategies = { asyncStrategy, strategy } });
        var context = new RecordingSynchronizationContext();

        await context.RunAsync(() => router.GetResponseAsync(Tiers.Ask("hi")));

        Assert.Same(context, seenByStrategy);
        Assert.Same(context, tiers.Small.SeenContext);
        Assert.Same(context, tiers.Large.SeenContext);
    }

    /// <summary>Yields for real before abstaining, so a lost context would show in the next stage.</summary>
    private sealed class DelayStrategy : IRoutingStrategy
    {
        public string Name => "delay";

        public async ValueTask<RouteChoice?> ChooseAsync(RoutingRequest request, CancellationToken cancellationToken)
        {
            await Task.Delay(10, cancellationToken);
            return null;
        }
    }
}

/// <summary>A single-threaded context that runs posted continuations in order (like a UI thread).</summary>
internal sealed class RecordingSynchronizationContext : SynchronizationContext
{
    private readonly System.Collections.Concurrent.BlockingCollection<(SendOrPostCallback, object?)> _queue = [];

    public override void Post(SendOrPostCallback d, object? state) => _queue.Add((d, state));

    public Task RunAsync(Func<Task> action)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            SetSynchronizationContext(this);
            Task task = action();
            task.ContinueWith(_ => _queue.CompleteAdding(), TaskScheduler.Default);
            foreach (var (callback, state) in _queue.GetConsumingEnumerable())
                callback(state);
            if (task.Exception is { } e) done.SetException(e.InnerExceptions);
            else done.SetResult();
        });
        thread.Start();
        return done.Task;
    }
}
