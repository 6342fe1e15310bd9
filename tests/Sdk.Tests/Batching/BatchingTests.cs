using LocalLlm.ModelForge;

namespace LocalLlm.Tests.Batching;

/// <summary>Requests batched through the native engine answer exactly as requests on their own generators do.</summary>
public sealed class BatchingTests
{
    private static readonly ChatOptions Greedy = new() { Temperature = 0, MaxOutputTokens = 24 };

    /// <summary>Prompts of clearly different lengths, so the engine pads the shorter rows of a batch.</summary>
    private static List<ChatMessage>[] Prompts(int n) =>
        [.. Enumerable.Range(0, n).Select(i => new List<ChatMessage> { new(ChatRole.User, $"Request {i}: " + string.Concat(Enumerable.Repeat("word ", 3 + 9 * i))) })];

    private static LocalLlmChatClient Batched(LocalModel model, int concurrency) =>
        new(model, new LocalLlmChatClientOptions { Batching = BatchingMode.Auto, MaxConcurrentRequests = concurrency });

    private static readonly ChatOptions ToTheEnd = new() { Temperature = 0, MaxOutputTokens = 64 };

    /// <summary>One request after another, each on its own generator, without reuse: the reference answers.</summary>
    private static async Task<ChatResponse[]> Unbatched(LocalModel model, List<ChatMessage>[] prompts, ChatOptions options)
    {
        using var client = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { EnableKvCacheReuse = false });
        var answers = new ChatResponse[prompts.Length];
        for (int i = 0; i < prompts.Length; i++) answers[i] = await client.GetResponseAsync(prompts[i], options);
        return answers;
    }

    private static Task<ChatResponse[]> Concurrently(LocalLlmChatClient client, List<ChatMessage>[] prompts, ChatOptions options) =>
        Task.WhenAll(prompts.Select(p => Task.Run(() => client.GetResponseAsync(p, options))));

    /// <summary><paramref name="n"/> prompts answered unbatched (the reference), then concurrently by <paramref name="batched"/>.</summary>
    private static async Task<(ChatResponse[] Expected, ChatResponse[] Answers)> UnbatchedThenConcurrently(
        LocalModel model, LocalLlmChatClient batched, int n, ChatOptions options)
    {
        var prompts = Prompts(n);
        return (await Unbatched(model, prompts, options), await Concurrently(batched, prompts, options));
    }

    /// <summary>The designed copy model the exact-reply tests here use.</summary>
    private static LocalModel CopyModel(AttentionKind attention = AttentionKind.GroupQueryAttention) =>
        LocalModel.Load(ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Attention = attention, Lag = 17 }));

    [Theory]
    [InlineData(3, WeightPrecision.Fp32)]
    [InlineData(8, WeightPrecision.Fp32)]
    [InlineData(3, WeightPrecision.Int4)]
    [InlineData(8, WeightPrecision.Int4)]
    public async Task GetResponseAsync_ConcurrentGreedyRequestsOfDifferentLengths_BatchedEqualsUnbatched(int n, WeightPrecision precision)
    {
        string folder = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Random, Precision = precision, Attention = AttentionKind.GroupQueryAttention });
        using var model = LocalModel.Load(folder);
        using var client = Batched(model, n);
        var (expected, answers) = await UnbatchedThenConcurrently(model, client, n, Greedy);

        Assert.Equal(n, client.Batching!.Submitted);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(expected[i].Text, answers[i].Text);
            Assert.Equal(expected[i].FinishReason, answers[i].FinishReason);
            Assert.Equal(expected[i].Usage!.OutputTokenCount, answers[i].Usage!.OutputTokenCount);
        }
        Assert.Equal(0, client.Batching.LiveRequests);
    }

    [Fact]
    public async Task GetResponseAsync_CopyDesignBatched_EndsAtEndOfSequenceWithTheKnownReply()
    {
        using var model = CopyModel();
        using var client = Batched(model, 4);
        var (expected, answers) = await UnbatchedThenConcurrently(model, client, 4, ToTheEnd);

        Assert.Equal(4, client.Batching!.Submitted);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(ChatFinishReason.Stop, expected[i].FinishReason); // the reply ends with the end-of-sequence token
            Assert.Equal(expected[i].Text, answers[i].Text);
            Assert.Equal(ChatFinishReason.Stop, answers[i].FinishReason);
        }
    }

    [Fact]
    public async Task GetResponseAsync_MinOutputTokensBatched_EqualsUnbatched()
    {
        using var model = CopyModel();
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 48 }.WithMinOutputTokens(40); // past the reply's end-of-sequence
        using var client = Batched(model, 3);
        var (expected, answers) = await UnbatchedThenConcurrently(model, client, 3, options);

        Assert.Equal(3, client.Batching!.Submitted);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(expected[i].Usage!.OutputTokenCount >= 40);
            Assert.Equal(expected[i].Usage!.OutputTokenCount, answers[i].Usage!.OutputTokenCount);
            Assert.Equal(expected[i].Text, answers[i].Text);
        }
    }

    [Fact]
    public async Task GetStreamingResponseAsync_OneBatchedRequestCancelled_OthersStayExact()
    {
        string folder = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Random, Attention = AttentionKind.GroupQueryAttention });
        using var model = LocalModel.Load(folder);
        var prompts = Prompts(4);
        var longer = new ChatOptions { Temperature = 0, MaxOutputTokens = 200 };
        var expected = await Unbatched(model, prompts, longer);

        using var client = Batched(model, 4);
        using var cts = new CancellationTokenSource();
        async Task<string> Stream(int i, CancellationToken ct)
        {
            var text = new System.Text.StringBuilder();
            await foreach (var update in client.GetStreamingResponseAsync(prompts[i], longer, ct))
            {
                text.Append(update.Text);
                if (i == 1) await cts.CancelAsync(); // after its first piece of text
            }
            return text.ToString();
        }
        var tasks = Enumerable.Range(0, prompts.Length).Select(i => Task.Run(() => Stream(i, i == 1 ? cts.Token : CancellationToken.None))).ToArray();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => tasks[1]);
        foreach (int i in new[] { 0, 2, 3 }) Assert.Equal(expected[i].Text, await tasks[i]);
        await WaitUntil(() => client.Batching!.LiveRequests == 0);
        Assert.Equal(0, client.Scheduler.Active);
    }

    [Fact]
    public async Task GetResponseAsync_PlainAttentionModel_FallsBackToOwnGenerators()
    {
        using var model = CopyModel(AttentionKind.Plain);
        using var client = Batched(model, 3);
        var (expected, answers) = await UnbatchedThenConcurrently(model, client, 3, ToTheEnd);

        Assert.NotNull(BatchingEngine.Unsupported(model.Info));
        Assert.Null(client.Batching); // no engine was started for this model
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i].Text, answers[i].Text);
    }

    [Fact]
    public async Task GetResponseAsync_SettingsTheEngineCannotHonour_FallBackToOwnGenerators()
    {
        using var model = CopyModel();
        using var client = Batched(model, 2);
        var messages = Prompts(1)[0];

        await client.GetResponseAsync(messages, new ChatOptions { Temperature = 0, MaxOutputTokens = 8 }.WithRegexGrammar("[a-z]+"));
        await client.GetResponseAsync(messages, new ChatOptions { Temperature = 0, MaxOutputTokens = 8 }.WithLogProbabilities());
        Assert.Equal(0, client.Batching?.Submitted ?? 0);

        await client.GetResponseAsync(Prompts(2)[1], Greedy);
        Assert.Equal(1, client.Batching!.Submitted);
        // A seed no longer falls back: the engine gives every row its own random stream (the native engine had no per-turn seed).
        await client.GetResponseAsync(Prompts(3)[2], new ChatOptions { Temperature = 0.7f, Seed = 7, MaxOutputTokens = 8 });
        Assert.Equal(2, client.Batching!.Submitted);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 1000 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition());
    }
}
