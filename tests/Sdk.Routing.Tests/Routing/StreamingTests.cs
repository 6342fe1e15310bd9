using System.Runtime.CompilerServices;

namespace LocalLlm.Routing.Tests.Routing;

public sealed class StreamingTests
{
    [Fact]
    public async Task GetStreamingResponseAsync_ChosenTierStreams_FirstAndLastUpdatesCarryTheDecision()
    {
        var tiers = new Tiers();
        using var router = tiers.Router(new HybridRoutingOptions { DefaultTier = "large" });

        List<ChatResponseUpdate> updates = [];
        await foreach (ChatResponseUpdate u in router.GetStreamingResponseAsync(Tiers.Ask("hi")))
            updates.Add(u);
        ChatResponse response = updates.ToChatResponse();

        Assert.Equal("large", updates[0].GetRouteDecision()!.Tier);
        RouteDecision final = updates[^1].GetRouteDecision()!;
        Assert.Equal(15, final.Attempts.Single().Usage!.TotalTokenCount);
        Assert.Equal("large answer", response.Text);
        Assert.Single(response.Messages);
        Assert.Same(final, response.GetRouteDecision());
    }

    [Fact]
    public async Task GetStreamingResponseAsync_CascadeEscalates_CallerSeesOnlyTheLargeAnswer()
    {
        var tiers = new Tiers();
        using var router = tiers.Cascade(new VerifierConfidenceEstimator((_, r, _) => ValueTask.FromResult<double?>(r.Text == "small answer" ? 0.1 : 1)));

        ChatResponse response = await router.GetStreamingResponseAsync(Tiers.Ask("hi")).ToChatResponseAsync();

        Assert.Equal("large answer", response.Text);
        RouteDecision d = response.GetRouteDecision()!;
        Assert.Equal(("large", EscalationReason.LowConfidence), (d.Tier, d.Escalation));
        Assert.Equal(1, tiers.Small.Calls);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_CascadeAccepts_ReplaysTheBufferedSmallAnswer()
    {
        var tiers = new Tiers();
        using var router = tiers.Cascade(new VerifierConfidenceEstimator((_, _, _) => ValueTask.FromResult<double?>(0.9)));

        ChatResponse response = await router.GetStreamingResponseAsync(Tiers.Ask("hi")).ToChatResponseAsync();

        Assert.Equal("small answer", response.Text);
        Assert.Equal(0, tiers.Large.Calls);
        Assert.Equal(0.9, response.GetRouteDecision()!.Confidence);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_FailsBeforeFirstUpdate_FailsOver()
    {
        var tiers = new Tiers();
        tiers.Small.OnStream = (_, _, ct) => Failing(updatesFirst: 0, ct);
        using var router = tiers.Router();

        ChatResponse response = await router.GetStreamingResponseAsync(Tiers.Ask("hi")).ToChatResponseAsync();

        Assert.Equal("large answer", response.Text);
        Assert.Equal(EscalationReason.TierFailed, response.GetRouteDecision()!.Escalation);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_FailsAfterOutput_PropagatesWithoutFailover()
    {
        var tiers = new Tiers();
        tiers.Small.OnStream = (_, _, ct) => Failing(updatesFirst: 1, ct);
        using var router = tiers.Router();
        var seen = new List<string>();

        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var u in router.GetStreamingResponseAsync(Tiers.Ask("hi")))
                seen.Add(u.Text);
        });

        Assert.Equal("broke mid-stream", e.Message);
        Assert.Equal(["partial"], seen);
        Assert.Equal(0, tiers.Large.Calls);
        Assert.Equal(1, router.Ledger.GetTotals().Tiers["small"].Failures);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_CallerCancelsMidStream_StopsAndRecordsNoAnswer()
    {
        var tiers = new Tiers();
        using var router = tiers.Router();
        using var cts = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var u in router.GetStreamingResponseAsync(Tiers.Ask("hi"), cancellationToken: cts.Token))
                await cts.CancelAsync();
        });

        Assert.Equal(0, tiers.Large.Calls);
        var totals = router.Ledger.GetTotals();
        Assert.Equal(1, totals.Requests);
        Assert.Equal(0, totals.Tiers["small"].Answers);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_CallerStopsEarly_RecordsTheAttempt()
    {
        var tiers = new Tiers();
        using var router = tiers.Router();

        await foreach (var u in router.GetStreamingResponseAsync(Tiers.Ask("hi")))
            break;

        var totals = router.Ledger.GetTotals();
        Assert.Equal(1, totals.Tiers["small"].Calls);
        Assert.Equal(0, totals.Tiers["small"].Answers);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_SynchronizationContext_ReachesTheTier()
    {
        var tiers = new Tiers();
        tiers.Small.OnStream = (_, _, ct) => Failing(updatesFirst: 0, ct);
        using var router = tiers.Router();
        var context = new RecordingSynchronizationContext();

        await context.RunAsync(async () =>
        {
            await foreach (var u in router.GetStreamingResponseAsync(Tiers.Ask("hi")))
            {
            }
        });

        Assert.Same(context, tiers.Small.SeenContext);
        Assert.Same(context, tiers.Large.SeenContext);
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> Failing(int updatesFirst, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Delay(5, cancellationToken);
        if (updatesFirst > 0)
            yield return new ChatResponseUpdate(ChatRole.Assistant, "partial");
        throw new InvalidOperationException(updatesFirst > 0 ? "broke mid-stream" : "broke before output");
    }
}
