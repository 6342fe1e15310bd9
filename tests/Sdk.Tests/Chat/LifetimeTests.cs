using System.Diagnostics;
using LocalLlm.ModelForge;

namespace LocalLlm.Tests.Chat;

[CollectionDefinition(nameof(LifetimeTests), DisableParallelization = true)]
public sealed class LifetimeTestsDefinition;

/// <summary>
/// Cancellation at every stage, disposal mid-stream, and no leaked generators. Runs alone: it counts live
/// generators process-wide.
/// </summary>
[Collection(nameof(LifetimeTests))]
public sealed class LifetimeTests
{
    private static readonly ChatMessage[] s_loop = [new(ChatRole.User, "abcd")];

    /// <summary>Lag 13 copies template tokens and never an end token: it generates until stopped.</summary>
    private static string EndlessFolder => ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Lag = 12 });

    [Fact]
    public async Task GetStreamingResponseAsync_AlreadyCancelled_ThrowsBeforeStarting()
    {
        using var client = new LocalLlmChatClient(EndlessFolder);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync(s_loop, cancellationToken: cts.Token));
        Assert.Equal(0, GenerationLoop.LiveGenerators);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_CancelledBetweenTokens_EndsFreesGeneratorAndNextRequestWorks()
    {
        using var client = new LocalLlmChatClient(EndlessFolder);
        using var cts = new CancellationTokenSource();
        int seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var u in client.GetStreamingResponseAsync(s_loop, new ChatOptions { MaxOutputTokens = 1000 }, cts.Token))
            {
                if (++seen == 3) await cts.CancelAsync();
            }
        });
        Assert.InRange(seen, 3, 4);
        Assert.Equal(0, GenerationLoop.LiveGenerators);

        var next = await client.GetResponseAsync(s_loop, new ChatOptions { MaxOutputTokens = 5 });
        Assert.Equal(5, next.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task GetResponseAsync_CancelledInsidePrefill_TerminatesThePrefill()
    {
        using var cts = new CancellationTokenSource();
        using var model = LocalModel.Load(ThirdPartyModelFixture.Folder);
        var options = new LocalLlmChatClientOptions { PrefillStarting = cts.Cancel };
        using var client = new LocalLlmChatClient(model, options);
        string longPrompt = string.Join(' ', Enumerable.Repeat("river", 600));

        var updates = new List<ChatResponseUpdate>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var u in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, longPrompt)], cancellationToken: cts.Token))
                updates.Add(u);
        });
        Assert.Empty(updates);
        Assert.Equal(0, GenerationLoop.LiveGenerators);

        options.PrefillStarting = null;
        var after = await client.GetResponseAsync([new ChatMessage(ChatRole.User, longPrompt)], new ChatOptions { MaxOutputTokens = 2 });
        Assert.Equal(2, after.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task GetResponseAsync_CancelledWhilePrefillRuns_EndsWithCancellation()
    {
        using var model = LocalModel.Load(ThirdPartyModelFixture.Folder);
        using var cts = new CancellationTokenSource();
        // Cancel from another thread a moment after prefill begins (1,800 tokens take longer than that here).
        var options = new LocalLlmChatClientOptions { PrefillStarting = () => cts.CancelAfter(3) };
        using var client = new LocalLlmChatClient(model, options);
        string longPrompt = string.Join(' ', Enumerable.Repeat("river", 900));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            client.GetResponseAsync([new ChatMessage(ChatRole.User, longPrompt)], new ChatOptions { MaxOutputTokens = 100 }, cts.Token));
        Assert.Equal(0, GenerationLoop.LiveGenerators);
    }

    [Fact]
    public async Task Dispose_DuringStream_EndsTheStreamAndReleasesAfterIt()
    {
        var client = new LocalLlmChatClient(EndlessFolder);
        var model = client.Model;
        int seen = 0;
        var e = await Record.ExceptionAsync(async () =>
        {
            await foreach (var u in client.GetStreamingResponseAsync(s_loop, new ChatOptions { MaxOutputTokens = 1000 }))
            {
                if (++seen == 2) client.Dispose();
            }
        });
        Assert.IsAssignableFrom<OperationCanceledException>(e);
        Assert.Equal(0, GenerationLoop.LiveGenerators);
        Assert.Throws<ObjectDisposedException>(() => model.NativeModel);

        client.Dispose(); // twice is harmless
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.GetResponseAsync(s_loop));
    }

    [Fact]
    public void Dispose_Twice_IsHarmless()
    {
        var model = LocalModel.Load(EndlessFolder);
        var client = new LocalLlmChatClient(model);
        client.Dispose();
        client.Dispose();
        model.Dispose();
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => model.Encode("x"));
    }

    [Fact]
    public async Task GetResponseAsync_HundredSequentialRequests_LeaveNoGeneratorsAndNoGrowth()
    {
        using var client = new LocalLlmChatClient(EndlessFolder);
        for (int i = 0; i < 10; i++) await client.GetResponseAsync(s_loop, new ChatOptions { MaxOutputTokens = 8 });
        long before = ResidentBytes();
        for (int i = 0; i < 100; i++)
        {
            var r = await client.GetResponseAsync(s_loop, new ChatOptions { MaxOutputTokens = 8 });
            Assert.Equal(8, r.Usage!.OutputTokenCount);
        }
        long growth = ResidentBytes() - before;
        Assert.Equal(0, GenerationLoop.LiveGenerators);
        Assert.True(growth < 64L << 20, $"resident memory grew by {growth >> 20} MB over 100 requests");
    }

    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.WorkingSet64;
    }
}
