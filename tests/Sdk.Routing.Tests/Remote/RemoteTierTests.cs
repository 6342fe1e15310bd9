using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using LocalLlm.Routing.Hosting;

namespace LocalLlm.Routing.Tests.Remote;

/// <summary>The large tier is a real OpenAI-compatible server on 127.0.0.1, called through Microsoft.Extensions.AI.OpenAI.</summary>
public sealed class RemoteTierTests
{
    [Fact]
    public async Task GetResponseAsync_RuleRoutesToRemoteLarge_AnswerAndTokensComeFromTheServer()
    {
        var server = new FakeChatClient("remote");
        server.OnGetResponse = (_, _, _) => Task.FromResult(FakeChatClient.Answer("answer from the server", input: 21, output: 7));
        await using var host = await OpenAICompatibleHost.StartAsync(server);
        var small = new FakeChatClient("small");
        using var router = Router(small, host.Endpoint, new RuleRoutingStrategy([RoutingRule.ContainsKeyword(["prove"], "large")]));

        ChatResponse hard = await router.GetResponseAsync(Tiers.Ask("Prove that sqrt(2) is irrational."));
        ChatResponse easy = await router.GetResponseAsync(Tiers.Ask("Say hello."));

        Assert.Equal("answer from the server", hard.Text);
        Assert.Equal(("large", "keyword"), (hard.GetRouteDecision()!.Tier, hard.GetRouteDecision()!.Reason));
        Assert.Equal("small answer", easy.Text);
        Assert.Equal(1, host.Requests);
        var totals = router.Ledger.GetTotals().Tiers["large"];
        Assert.Equal((21L, 7L), (totals.InputTokens, totals.OutputTokens));
    }

    [Fact]
    public async Task GetStreamingResponseAsync_RemoteLarge_StreamsOverSse()
    {
        var server = new FakeChatClient("remote");
        await using var host = await OpenAICompatibleHost.StartAsync(server);
        using var router = Router(new FakeChatClient("small"), host.Endpoint, defaultTier: "large");

        List<ChatResponseUpdate> updates = [];
        await foreach (var u in router.GetStreamingResponseAsync(Tiers.Ask("hi")))
            updates.Add(u);
        ChatResponse response = updates.ToChatResponse();

        Assert.Equal("remote answer", response.Text);
        Assert.True(updates.Count(u => u.Text.Length > 0) >= 2);
        Assert.Equal("large", updates[0].GetRouteDecision()!.Tier);
        Assert.Equal(15, response.GetRouteDecision()!.Attempts.Single().Usage!.TotalTokenCount);
    }

    [Fact]
    public async Task GetResponseAsync_CascadeLowConfidence_EscalatesToTheRemoteTier()
    {
        var server = new FakeChatClient("remote");
        await using var host = await OpenAICompatibleHost.StartAsync(server);
        var small = new FakeChatClient("small");
        var cascade = new CascadeOptions { Confidence = new VerifierConfidenceEstimator((_, r, _) => ValueTask.FromResult<double?>(r.Text.Contains("unsure", StringComparison.Ordinal) ? 0.1 : 0.9)) };
        small.OnGetResponse = (m, _, _) => Task.FromResult(FakeChatClient.Answer(m[^1].Text == "hard" ? "unsure" : "sure"));
        using var router = Router(small, host.Endpoint, cascade: cascade);

        ChatResponse hard = await router.GetResponseAsync(Tiers.Ask("hard"));
        ChatResponse easy = await router.GetResponseAsync(Tiers.Ask("easy"));

        Assert.Equal(("remote answer", EscalationReason.LowConfidence), (hard.Text, hard.GetRouteDecision()!.Escalation));
        Assert.Equal(("sure", "small"), (easy.Text, easy.GetRouteDecision()!.Tier));
    }

    [Fact]
    public async Task GetResponseAsync_IntentStrategy_SmallModelLabelsAndRemoteAnswersReasoning()
    {
        var server = new FakeChatClient("remote");
        await using var host = await OpenAICompatibleHost.StartAsync(server);
        var small = new FakeChatClient("small");
        small.OnGetResponse = (m, o, _) => Task.FromResult(FakeChatClient.Answer(
            o?.AdditionalProperties?.ContainsKey(LocalLlmOptionKeys.RegexGrammar) == true
                ? (m[^1].Text.Contains("why", StringComparison.OrdinalIgnoreCase) ? "reasoning" : "chitchat")
                : "small answer"));
        var intent = new IntentRoutingStrategy(small, new Dictionary<string, string> { ["chitchat"] = "small", ["reasoning"] = "large" });
        using var router = Router(small, host.Endpoint, intent);

        ChatResponse why = await router.GetResponseAsync(Tiers.Ask("Why is the sky blue?"));
        ChatResponse hi = await router.GetResponseAsync(Tiers.Ask("Hi there"));

        Assert.Equal(("remote answer", "intent reasoning"), (why.Text, why.GetRouteDecision()!.Reason));
        Assert.Equal(("small answer", "intent chitchat"), (hi.Text, hi.GetRouteDecision()!.Reason));
    }

    [Fact]
    public async Task GetResponseAsync_RemoteDown_FailsOverToSmallWithReason()
    {
        using var router = Router(new FakeChatClient("small"), ClosedPortEndpoint(), defaultTier: "large");

        ChatResponse response = await router.GetResponseAsync(Tiers.Ask("hi"));

        Assert.Equal("small answer", response.Text);
        RouteDecision d = response.GetRouteDecision()!;
        Assert.Equal(("small", "large", EscalationReason.TierFailed), (d.Tier, d.SelectedTier, d.Escalation));
        Assert.NotNull(d.Attempts[0].Error);
        Assert.Equal(1, router.Ledger.GetTotals().Tiers["large"].Failures);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_RemoteDown_FailsOverToSmall()
    {
        using var router = Router(new FakeChatClient("small"), ClosedPortEndpoint(), defaultTier: "large");

        ChatResponse response = await router.GetStreamingResponseAsync(Tiers.Ask("hi")).ToChatResponseAsync();

        Assert.Equal("small answer", response.Text);
        Assert.Equal(EscalationReason.TierFailed, response.GetRouteDecision()!.Escalation);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_CallerCancelsRemoteStream_StopsWithoutFailover()
    {
        var server = new FakeChatClient("remote") { OnStream = (_, _, ct) => Endless(ct) };
        await using var host = await OpenAICompatibleHost.StartAsync(server);
        var small = new FakeChatClient("small");
        using var router = Router(small, host.Endpoint, defaultTier: "large");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)); // a backstop: the test cancels after the first update

        int seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var u in router.GetStreamingResponseAsync(Tiers.Ask("count"), cancellationToken: cts.Token))
            {
                if (++seen == 2)
                    await cts.CancelAsync();
            }
        });

        Assert.True(cts.IsCancellationRequested);
        Assert.Equal(0, small.Calls);
    }

    [Fact]
    public void RemoteChatClient_BadArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>("endpoint", () => RemoteChatClient.Create(null!, "m"));
        Assert.Throws<ArgumentException>("endpoint", () => RemoteChatClient.Create(new Uri("/v1", UriKind.Relative), "m"));
        Assert.Throws<ArgumentException>("model", () => RemoteChatClient.Create(new Uri("http://127.0.0.1:1/v1"), " "));
        Assert.Throws<ArgumentOutOfRangeException>("maxRetries", () => RemoteChatClient.Create(new Uri("http://127.0.0.1:1/v1"), "m", maxRetries: -1));
    }

    private static HybridRoutingChatClient Router(IChatClient small, Uri endpoint, IRoutingStrategy? strategy = null, string defaultTier = "small", CascadeOptions? cascade = null)
    {
        IChatClient large = RemoteChatClient.Create(endpoint, "big-model", networkTimeout: TimeSpan.FromSeconds(10));
        var options = new HybridRoutingOptions { DefaultTier = defaultTier, Cascade = cascade };
        if (strategy is not null)
            options.Strategies.Add(strategy);
        return new HybridRoutingChatClient(
        [
            new RoutingTier("small", small) { FailoverTo = "large" },
            new RoutingTier("large", large) { FailoverTo = "small", Timeout = TimeSpan.FromSeconds(20), InputPricePer1kTokens = 1m },
        ], options);
    }

    /// <summary>A port nothing listens on: bound, then released, so a connection is refused at once.</summary>
    private static Uri ClosedPortEndpoint()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}/v1");
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> Endless([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (int i = 0; ; i++)
        {
            await Task.Delay(20, cancellationToken);
            yield return new ChatResponseUpdate(ChatRole.Assistant, $"{i} ");
        }
    }
}
