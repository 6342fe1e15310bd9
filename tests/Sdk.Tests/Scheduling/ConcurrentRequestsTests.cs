using LocalLlm.ModelForge;
using LocalLlm.Tests.Conversations;

namespace LocalLlm.Tests.Scheduling;

/// <summary>Many requests through one client at once: every one ends, finished ones are exact, the queue behaves.</summary>
public sealed class ConcurrentRequestsTests
{
    private const int Lag = 17; // reply = the user's last 4 tokens, then <|im_end|>

    private static string Folder(AttentionKind attention) =>
        ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Attention = attention, Lag = Lag });

    private static string Expected(LocalModel model, IList<ChatMessage> messages)
    {
        int[] prompt = model.Encode(model.ApplyChatTemplate(null, PromptRenderer.MessagesJson(messages), null));
        return ByteTokenizer.Decode(CopyDesign.ExpectedReply(prompt, 64, Lag));
    }

    [Theory]
    [InlineData(AttentionKind.GroupQueryAttention, BatchingMode.Off)]
    [InlineData(AttentionKind.Plain, BatchingMode.Off)]
    [InlineData(AttentionKind.GroupQueryAttention, BatchingMode.Auto)]
    public async Task GetResponseAsync_SixteenConcurrentWithRandomCancellation_AllEndAndFinishedOnesAreExact(AttentionKind attention, BatchingMode batching)
    {
        using var model = LocalModel.Load(Folder(attention));
        using var meters = new TestMeters();
        using var client = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { MaxConcurrentRequests = 4, Batching = batching }, meters.Telemetry);
        var random = new Random(1234);

        var requests = Enumerable.Range(0, 16).Select(i =>
        {
            // Half share a conversation prefix, so cached generators are taken and parked while others run.
            var messages = new List<ChatMessage> { new(ChatRole.User, i % 2 == 0 ? $"Shared opening words, then request {i:D2}." : $"Request {i:D2} stands alone here.") };
            var cts = new CancellationTokenSource();
            int cancelAfterMs = random.Next(3) == 0 ? random.Next(0, 20) : -1;
            if (cancelAfterMs >= 0) cts.CancelAfter(cancelAfterMs);
            return (messages, cts, Task: Task.Run(() => client.GetResponseAsync(messages, new ChatOptions { Temperature = 0, MaxOutputTokens = 64 }, cts.Token)));
        }).ToList();

        // A hang guard, not a speed assertion: a deadlock would never finish.
        await Task.WhenAll(requests.Select(r => r.Task)).ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(TimeSpan.FromMinutes(2));

        int finished = 0;
        foreach (var (messages, cts, task) in requests)
        {
            if (task.IsCanceled || task.Exception?.InnerException is OperationCanceledException)
            {
                Assert.True(cts.IsCancellationRequested);
                continue;
            }
            var response = await task; // any other failure surfaces here
            Assert.Equal(Expected(model, messages), response.Text);
            finished++;
            cts.Dispose();
        }
        Assert.True(finished >= 8, $"only {finished} finished");
        if (batching == BatchingMode.Auto)
        {
            Assert.True(client.Batching!.Submitted >= finished);
            await WaitUntil(() => client.Batching.LiveRequests == 0); // cancelled turns end on the engine thread
        }
        Assert.Equal(0, client.Scheduler.Active);
        Assert.Equal(0, client.Scheduler.Waiting);
        Assert.Equal(0, meters.Sum("localllm.requests.active"));
        Assert.Equal(0, meters.Sum("localllm.scheduler.queue_depth"));
        Assert.True(client.Scheduler.ActiveBytes == 0);
    }

    [Fact]
    public async Task GetResponseAsync_QueueFull_ThrowsServerBusyAndQueuedOneStillCompletes()
    {
        using var model = LocalModel.Load(Folder(AttentionKind.GroupQueryAttention));
        using var client = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { MaxConcurrentRequests = 1, MaxQueueLength = 1 });
        var messages = new List<ChatMessage> { new(ChatRole.User, "Queue me up, please.") };
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 64 };

        var slot = await client.Scheduler.AdmitAsync(0, null, CancellationToken.None); // holds the only slot
        var queued = client.GetResponseAsync(messages, options);
        await WaitUntil(() => client.Scheduler.Waiting == 1);

        var busy = await Assert.ThrowsAsync<ServerBusyException>(() => client.GetResponseAsync(messages, options));
        Assert.Equal(1, busy.QueueLength);

        slot.Dispose();
        var response = await queued;
        Assert.Equal(Expected(model, messages), response.Text);
        Assert.True(response.GetGenerationStats()!.QueueTime > TimeSpan.Zero);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_CancelledWhileQueued_NeverStarts()
    {
        using var model = LocalModel.Load(Folder(AttentionKind.GroupQueryAttention));
        using var meters = new TestMeters();
        using var client = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { MaxConcurrentRequests = 1 }, meters.Telemetry);
        var messages = new List<ChatMessage> { new(ChatRole.User, "I will be cancelled.") };

        var slot = await client.Scheduler.AdmitAsync(0, null, CancellationToken.None);
        using var cts = new CancellationTokenSource();
        var queued = client.GetStreamingResponseAsync(messages, new ChatOptions { MaxOutputTokens = 8 }, cts.Token).ToListAsync().AsTask();
        await WaitUntil(() => client.Scheduler.Waiting == 1);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
        Assert.Equal(0, client.Scheduler.Waiting);
        slot.Dispose();
        Assert.Equal(0, client.Scheduler.Active);
        Assert.Equal(0, meters.Count("localllm.requests.active", (v, _) => v > 0));
        Assert.Equal(0, meters.Count("localllm.kv_cache.lookups", (_, _) => true));
    }

    [Theory]
    [InlineData(nameof(LocalLlmChatClientOptions.MaxQueueLength))]
    [InlineData(nameof(LocalLlmChatClientOptions.KvCacheBudgetBytes))]
    [InlineData(nameof(LocalLlmChatClientOptions.MaxConversations))]
    public void Constructor_SchedulingOptionOutOfRange_ThrowsNamingIt(string option)
    {
        using var model = LocalModel.Load(Folder(AttentionKind.GroupQueryAttention));
        var options = new LocalLlmChatClientOptions();
        switch (option)
        {
            case nameof(options.MaxQueueLength): options.MaxQueueLength = -1; break;
            case nameof(options.KvCacheBudgetBytes): options.KvCacheBudgetBytes = 1000; break;
            default: options.MaxConversations = 0; break;
        }
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new LocalLlmChatClient(model, options));
        Assert.Equal(option, e.ParamName);
    }

    [Fact]
    public async Task GetResponseAsync_DefaultOptions_AdmitsFourRequestsAtOnce()
    {
        // Every request waits inside prefill until four are there: with one admitted at a time this would time out.
        using var model = LocalModel.Load(Folder(AttentionKind.GroupQueryAttention));
        using var inside = new CountdownEvent(4);
        var options = new LocalLlmChatClientOptions
        {
            PrefillStarting = () =>
            {
                if (!inside.IsSet) inside.Signal();
                Assert.True(inside.Wait(TimeSpan.FromSeconds(20)), "fewer than four requests were generating at once");
            },
        };
        using var client = new LocalLlmChatClient(model, options);
        var messages = Enumerable.Range(0, 4).Select(i => new List<ChatMessage> { new(ChatRole.User, $"Concurrent user {i} says hello") }).ToList();

        var answers = await Task.WhenAll(messages.Select(m => client.GetResponseAsync(m, new ChatOptions { Temperature = 0, MaxOutputTokens = 8 })));

        for (int i = 0; i < 4; i++) Assert.Equal(Expected(model, messages[i]), answers[i].Text);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 2000 && !condition(); i++) await Task.Delay(5);
        Assert.True(condition(), "condition not reached in 10 s");
    }
}
