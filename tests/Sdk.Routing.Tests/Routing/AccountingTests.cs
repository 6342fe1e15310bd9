using System.Diagnostics.Metrics;
using LocalLlm.Routing.Accounting;
using Microsoft.Extensions.DependencyInjection;

namespace LocalLlm.Routing.Tests.Routing;

public sealed class AccountingTests
{
    [Fact]
    public async Task Ledger_ScriptedSequence_TotalsAreExact()
    {
        var tiers = new Tiers(); // small: 0.1 in / 0.2 out per 1k; large: 3 / 6 per 1k
        tiers.Small.OnGetResponse = (m, _, _) => Task.FromResult(m[^1].Text switch
        {
            "fail" => throw new InvalidOperationException("small down"),
            "unsure" => FakeChatClient.Answer("unsure", input: 100, output: 40),
            _ => FakeChatClient.Answer("fine", input: 200, output: 50),
        });
        tiers.Large.OnGetResponse = (_, _, _) => Task.FromResult(FakeChatClient.Answer("big", input: 1000, output: 500));
        var options = new HybridRoutingOptions
        {
            Strategies = { new RuleRoutingStrategy([RoutingRule.ContainsKeyword(["hard"], "large")]) },
            Cascade = new CascadeOptions { Confidence = new VerifierConfidenceEstimator((_, r, _) => ValueTask.FromResult<double?>(r.Text == "unsure" ? 0.2 : 0.9)) },
        };
        using var router = tiers.Router(options);

        // 1: small accepts. 2: small unsure → large. 3: hard → large directly. 4: small fails → large. 5: small accepts.
        foreach (string prompt in new[] { "easy", "unsure", "hard one", "fail", "easy" })
            await router.GetResponseAsync(Tiers.Ask(prompt));

        var totals = router.Ledger.GetTotals();
        TierTotals small = totals.Tiers["small"], large = totals.Tiers["large"];
        Assert.Equal(5, totals.Requests);
        Assert.Equal((4L, 2L, 1L), (small.Calls, small.Answers, small.Failures));
        Assert.Equal((200 + 100 + 200L, 50 + 40 + 50L), (small.InputTokens, small.OutputTokens));
        Assert.Equal((3L, 3L, 0L), (large.Calls, large.Answers, large.Failures));
        Assert.Equal((3000L, 1500L), (large.InputTokens, large.OutputTokens));
        Assert.Equal((500 * 0.1m / 1000) + (140 * 0.2m / 1000), small.Cost);
        Assert.Equal((3000 * 3m / 1000) + (1500 * 6m / 1000), large.Cost);
        Assert.Equal(small.Cost + large.Cost, totals.Cost);
        Assert.Equal(1, totals.Escalations[EscalationReason.LowConfidence]);
        Assert.Equal(1, totals.Escalations[EscalationReason.TierFailed]);
        Assert.Equal(2, totals.Escalations.Count);
    }

    [Fact]
    public async Task Metrics_RequestsTokensAndEscalations_AreReportedOnTheLocalLlmMeter()
    {
        var tiers = new Tiers();
        tiers.Small.OnGetResponse = (_, _, _) => throw new InvalidOperationException("down");
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        using var router = new HybridRoutingChatClient([tiers.SmallTier, tiers.LargeTier], meterFactory: meterFactory);
        var measurements = new List<(string Name, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "LocalLlm" && ReferenceEquals(instrument.Meter.Scope, meterFactory))
                l.EnableMeasurementEvents(instrument);
        };
        void OnMeasurement<T>(Instrument i, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? _)
        {
            lock (measurements) measurements.Add((i.Name, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture), new(tags.ToArray())));
        }
        listener.SetMeasurementEventCallback<long>(OnMeasurement);
        listener.SetMeasurementEventCallback<double>(OnMeasurement);
        listener.Start();

        await router.GetResponseAsync(Tiers.Ask("hi"));

        var request = Assert.Single(measurements, m => m.Name == "localllm.routing.requests");
        Assert.Equal("large", request.Tags["localllm.routing.tier"]);
        var escalation = Assert.Single(measurements, m => m.Name == "localllm.routing.escalations");
        Assert.Equal("TierFailed", escalation.Tags["localllm.routing.reason"]);
        Assert.Equal(15, measurements.Where(m => m.Name == "localllm.routing.tokens").Sum(m => m.Value));
        Assert.Equal(2, measurements.Count(m => m.Name == "localllm.routing.tier.duration"));
        Assert.Single(measurements, m => m.Name == "localllm.routing.decision.duration");
        Assert.Equal((double)((10 * 3m / 1000) + (5 * 6m / 1000)), measurements.Where(m => m.Name == "localllm.routing.cost").Sum(m => m.Value), 10);
    }
}
