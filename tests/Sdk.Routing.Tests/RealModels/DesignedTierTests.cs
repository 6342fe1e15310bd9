using LocalLlm.Guardrails;
using LocalLlm.Guardrails.Pii;
using LocalLlm.Guardrails.Rules;
using LocalLlm.ModelForge;
using LocalLlm.Routing.Hosting;
using LocalLlm.Routing.Tests.Remote;

namespace LocalLlm.Routing.Tests.RealModels;

/// <summary>
/// Real tiers: two ModelForge copy-design models (real ONNX Runtime GenAI) whose answers differ, so the text
/// proves which tier produced it. The small one runs in-process; the large one behind a real OpenAI-compatible
/// Kestrel host, called through Microsoft.Extensions.AI.OpenAI.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "xUnit disposes the fields in IAsyncLifetime.DisposeAsync.")]
public sealed class DesignedTierTests : IAsyncLifetime
{
    /// <summary>Tokens the ChatML template adds after the user's text (see docs/modelforge.md).</summary>
    private const int TemplateTail = 13;

    // The copy design repeats the last (Lag - 13) tokens of the user's text: small echoes 5 bytes, large 9.
    private LocalModel _smallModel = null!;
    private LocalModel _largeModel = null!;
    private LocalLlmChatClient _small = null!;
    private LocalLlmChatClient _large = null!;
    private OpenAICompatibleHost _host = null!;

    public async Task InitializeAsync()
    {
        _smallModel = Load(5);
        _largeModel = Load(9);
        _small = new LocalLlmChatClient(_smallModel);
        _large = new LocalLlmChatClient(_largeModel);
        _host = await OpenAICompatibleHost.StartAsync(_large);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _small.Dispose();
        _large.Dispose();
        _smallModel.Dispose();
        _largeModel.Dispose();
    }

    [Fact]
    public async Task Rules_HardPromptGoesToTheRemoteLargeModel_EasyStaysOnTheLocalSmallOne()
    {
        using var router = Router(new HybridRoutingOptions { Strategies = { new RuleRoutingStrategy([RoutingRule.ContainsKeyword(["prove"], "large")]) } });

        ChatResponse hard = await router.GetResponseAsync(Tiers.Ask("please prove 123456789"));
        ChatResponse easy = await router.GetResponseAsync(Tiers.Ask("please echo 123456789"));
        ChatResponse streamed = await router.GetStreamingResponseAsync(Tiers.Ask("now prove 987654321")).ToChatResponseAsync();

        Assert.Equal(("123456789", "large"), (hard.Text, hard.GetRouteDecision()!.Tier));
        Assert.Equal(("56789", "small"), (easy.Text, easy.GetRouteDecision()!.Tier));
        Assert.Equal(("987654321", "large"), (streamed.Text, streamed.GetRouteDecision()!.Tier));
        Assert.Equal(2, _host.Requests);
        Assert.True(router.Ledger.GetTotals().Tiers["large"].OutputTokens >= 20);
    }

    [Fact]
    public async Task Cascade_RealLogProbabilities_ConfidentSmallAnswerIsKept()
    {
        var cascade = new CascadeOptions { Confidence = new LogProbabilityConfidenceEstimator(), MinConfidence = 0.5 };
        using var router = Router(new HybridRoutingOptions { Cascade = cascade });

        ChatResponse response = await router.GetResponseAsync(Tiers.Ask("echo abcdefghij"));
        ChatResponse streamed = await router.GetStreamingResponseAsync(Tiers.Ask("echo klmnopqrst")).ToChatResponseAsync();

        Assert.Equal("fghij", response.Text);
        Assert.InRange(response.GetRouteDecision()!.Confidence!.Value, 0.9, 1.0); // designed logit gap: 32 vs ≤ 9.6
        Assert.Equal(("pqrst", "small"), (streamed.Text, streamed.GetRouteDecision()!.Tier));
        Assert.NotNull(streamed.GetRouteDecision()!.Confidence);
        Assert.Equal(0, _host.Requests);
    }

    [Fact]
    public async Task Cascade_VerifierRejectsTheSmallAnswer_EscalatesToTheRemoteModel()
    {
        var strict = new CascadeOptions
        {
            Confidence = new VerifierConfidenceEstimator((_, r, _) => ValueTask.FromResult<double?>(r.Text.Length >= 9 ? 1 : 0)),
        };
        using var router = Router(new HybridRoutingOptions { Cascade = strict });

        ChatResponse response = await router.GetResponseAsync(Tiers.Ask("echo 123456789"));

        Assert.Equal(("123456789", EscalationReason.LowConfidence), (response.Text, response.GetRouteDecision()!.Escalation));
        Assert.Equal(1, _host.Requests);
    }

    [Fact]
    public async Task IntentStrategy_RealSmallModelUnderRegexGrammar_AnswersOneOfTheLabels()
    {
        var intent = new IntentRoutingStrategy(_small, new Dictionary<string, string> { ["alpha"] = "small", ["omega"] = "large" });
        using var router = Router(new HybridRoutingOptions { Strategies = { intent } });

        ChatResponse response = await router.GetResponseAsync(Tiers.Ask("route me 123456789"));

        // Without the grammar the copy model would echo prompt text; with it the label is one of the set.
        RouteDecision d = response.GetRouteDecision()!;
        Assert.Equal("intent", d.Strategy);
        Assert.Contains(d.Reason, new[] { "intent alpha", "intent omega" });
        Assert.Equal(d.Tier == "large" ? "123456789" : "56789", response.Text);
    }

    [Fact]
    public async Task Cascade_GuardedSmallTierMarksItsAnswer_RouterEscalatesToTheLargeTier()
    {
        // A real guardrails stage on the small tier: five digits in its answer ask for a larger model.
        using var guarded = new ChatClientBuilder(_small).UseGuardrails(g => g
            .AddOutputCheck(new RegexCheck([@"\d{5}"], "needs_large"))
            .SetPolicy("needs_large", GuardrailAction.Escalate)).Build();
        using var router = Router(new HybridRoutingOptions { Cascade = new CascadeOptions() }, guarded);

        ChatResponse flagged = await router.GetResponseAsync(Tiers.Ask("echo 123456789"));
        ChatResponse streamed = await router.GetStreamingResponseAsync(Tiers.Ask("echo 987654321")).ToChatResponseAsync();
        ChatResponse kept = await router.GetResponseAsync(Tiers.Ask("echo abcdefghij"));

        Assert.Equal(("123456789", "large", EscalationReason.GuardrailEscalate), (flagged.Text, flagged.GetRouteDecision()!.Tier, flagged.GetRouteDecision()!.Escalation));
        Assert.Equal(("987654321", "large", EscalationReason.GuardrailEscalate), (streamed.Text, streamed.GetRouteDecision()!.Tier, streamed.GetRouteDecision()!.Escalation));
        Assert.Equal(("fghij", "small"), (kept.Text, kept.GetRouteDecision()!.Tier));
        Assert.Equal(2, _host.Requests);
    }

    [Fact]
    public async Task Cascade_RealLogProbabilitiesThroughAGuardedSmallTier_ConfidentStreamedAnswerIsKept()
    {
        // The guardrails stage passes the inner stream's log-probabilities and stats on; the cascade must not see "unknown".
        using var guarded = new ChatClientBuilder(_small).UseGuardrails(g => g.AddOutputCheck(new PiiCheck())).Build();
        var cascade = new CascadeOptions { Confidence = new LogProbabilityConfidenceEstimator(), MinConfidence = 0.5 };
        using var router = Router(new HybridRoutingOptions { Cascade = cascade }, guarded);

        ChatResponse streamed = await router.GetStreamingResponseAsync(Tiers.Ask("echo klmnopqrst")).ToChatResponseAsync();

        Assert.Equal(("pqrst", "small"), (streamed.Text, streamed.GetRouteDecision()!.Tier));
        Assert.InRange(streamed.GetRouteDecision()!.Confidence!.Value, 0.9, 1.0);
        Assert.Equal(0, _host.Requests);
    }

    private HybridRoutingChatClient Router(HybridRoutingOptions options, IChatClient? small = null) => new(
    [
        new RoutingTier("small", small ?? _small) { FailoverTo = "large" },
        new RoutingTier("large", RemoteChatClient.Create(_host.Endpoint, "copy-9", networkTimeout: TimeSpan.FromSeconds(30))) { FailoverTo = "small" },
    ], options);

    private static LocalModel Load(int echoed) => LocalModel.Load(
        ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Lag = TemplateTail + echoed }),
        new LocalModelOptions { ExecutionProvider = ExecutionProvider.Cpu });
}
