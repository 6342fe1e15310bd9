using LocalLlm.ModelForge;
using LocalLlm.Tests.Conversations;
using Microsoft.Extensions.Logging;

namespace LocalLlm.Tests.Batching;

/// <summary>
/// The continuous-batching engine: rows join a running batch between decode steps and leave when they end, and every
/// row answers exactly as the same request on its own generator (the reference: ORT GenAI, one request at a time).
/// </summary>
public sealed class ContinuousBatchingTests
{
    private static string RandomFolder(WeightPrecision precision = WeightPrecision.Fp32) =>
        ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Random, Precision = precision, Attention = AttentionKind.GroupQueryAttention });

    private const int Lag = 17;

    private static string CopyFolder() =>
        ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Attention = AttentionKind.GroupQueryAttention, Lag = Lag });

    /// <summary>Prompts of clearly different lengths (one to several prefill chunks).</summary>
    private static List<ChatMessage>[] Prompts(int n, int words = 9) =>
        [.. Enumerable.Range(0, n).Select(i => new List<ChatMessage> { new(ChatRole.User, $"Row {i}: " + string.Concat(Enumerable.Repeat("word ", 2 + words * i))) })];

    private static LocalLlmChatClient Batched(LocalModel model, int concurrency, LocalLlmTelemetry? telemetry = null, ILogger<LocalLlmChatClient>? logger = null) =>
        new(model, new LocalLlmChatClientOptions { Batching = BatchingMode.Auto, MaxConcurrentRequests = concurrency }, telemetry, logger);

    private static async Task<string[]> Unbatched(LocalModel model, List<ChatMessage>[] prompts, ChatOptions options)
    {
        using var client = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { EnableKvCacheReuse = false, Batching = BatchingMode.Off });
        var answers = new string[prompts.Length];
        for (int i = 0; i < prompts.Length; i++) answers[i] = (await client.GetResponseAsync(prompts[i], options)).Text;
        return answers;
    }

    /// <summary>Streams every prompt; request i starts only after request i − 1 has shown <paramref name="piecesBeforeNext"/> pieces of text, so rows join a batch that is already decoding.</summary>
    private static async Task<string[]> Staggered(LocalLlmChatClient client, List<ChatMessage>[] prompts, ChatOptions options, int piecesBeforeNext)
    {
        var tasks = new Task<string>[prompts.Length];
        var started = new TaskCompletionSource[prompts.Length];
        for (int i = 0; i < prompts.Length; i++) started[i] = new(TaskCreationOptions.RunContinuationsAsynchronously);
        for (int i = 0; i < prompts.Length; i++)
        {
            int index = i;
            tasks[i] = Task.Run(async () =>
            {
                var text = new System.Text.StringBuilder();
                int pieces = 0;
                await foreach (var update in client.GetStreamingResponseAsync(prompts[index], options))
                {
                    text.Append(update.Text);
                    if (++pieces == piecesBeforeNext) started[index].TrySetResult();
                }
                started[index].TrySetResult();
                return text.ToString();
            });
            await started[i].Task.WaitAsync(TimeSpan.FromMinutes(1));
        }
        return await Task.WhenAll(tasks);
    }

    [Theory]
    [InlineData(1, WeightPrecision.Fp32)]
    [InlineData(2, WeightPrecision.Fp32)]
    [InlineData(5, WeightPrecision.Fp32)]
    [InlineData(8, WeightPrecision.Fp32)]
    [InlineData(8, WeightPrecision.Int4)]
    [InlineData(4, WeightPrecision.Fp16)] // float16 KV cache and logits
    public async Task GetStreamingResponseAsync_RowsJoiningAtDifferentSteps_EqualUnbatchedTokenForToken(int n, WeightPrecision precision)
    {
        using var model = LocalModel.Load(RandomFolder(precision));
        var prompts = Prompts(n);
        // Long answers, so the row before is still decoding when the next one joins (a few pieces into its answer).
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 600 };
        var expected = await Unbatched(model, prompts, options);

        using var client = Batched(model, 8);
        var answers = await Staggered(client, prompts, options, piecesBeforeNext: 3);

        Assert.Equal(expected, answers);
        Assert.Equal(n, client.Batching!.Submitted);
        if (n > 1)
        {
            Assert.True(client.Batching.WidestStep > 1, "rows never decoded together");
            Assert.True(client.Batching.InterleavedChunks > 0, "no prompt joined while others decoded");
        }
        Assert.Equal(0, client.Batching.LiveRequests);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_CopyDesignStaggeredRows_GiveTheKnownReplies()
    {
        using var model = LocalModel.Load(CopyFolder());
        var prompts = Prompts(6, words: 7);
        using var client = Batched(model, 8);
        var answers = await Staggered(client, prompts, new ChatOptions { Temperature = 0, MaxOutputTokens = 64 }, piecesBeforeNext: 2);

        for (int i = 0; i < prompts.Length; i++)
        {
            int[] prompt = model.Encode(model.ApplyChatTemplate(null, PromptRenderer.MessagesJson(prompts[i]), null));
            Assert.Equal(ByteTokenizer.Decode(CopyDesign.ExpectedReply(prompt, 64, Lag)), answers[i]);
        }
    }

    [Fact]
    public async Task GetStreamingResponseAsync_LongPromptJoinsWhileOthersDecode_ItsChunksInterleaveAndAllStayExact()
    {
        using var model = LocalModel.Load(RandomFolder());
        List<ChatMessage>[] prompts = [Prompts(1)[0], [new(ChatRole.User, "Long: " + string.Concat(Enumerable.Repeat("many words ", 30)))]];
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 120 };
        var expected = await Unbatched(model, prompts, options);
        Assert.True(model.Encode(model.ApplyChatTemplate(null, PromptRenderer.MessagesJson(prompts[1]), null)).Length > 4 * LocalLlmChatClientOptions.PrefillChunkTokens);

        using var client = Batched(model, 4);
        var answers = await Staggered(client, prompts, options, piecesBeforeNext: 2);

        Assert.Equal(expected, answers);
        Assert.True(client.Batching!.InterleavedChunks >= 4, $"only {client.Batching.InterleavedChunks} chunks ran between decode steps");
    }

    [Fact]
    public async Task GetResponseAsync_SeededSampling_SameAnswerAloneAndInABatch()
    {
        using var model = LocalModel.Load(RandomFolder());
        var prompt = Prompts(1)[0];
        ChatOptions Seeded(long seed) => new() { Temperature = 1.2f, TopP = 0.95f, MaxOutputTokens = 32, Seed = seed };
        using var client = Batched(model, 8);

        string alone = (await client.GetResponseAsync(prompt, Seeded(42))).Text;
        var others = Prompts(5).Skip(1).Select(p => Task.Run(() => client.GetResponseAsync(p, new ChatOptions { Temperature = 1f, MaxOutputTokens = 48 })));
        var inBatch = Task.Run(() => client.GetResponseAsync(prompt, Seeded(42)));
        await Task.WhenAll([.. others, inBatch]);
        string other = (await client.GetResponseAsync(prompt, Seeded(43))).Text;

        Assert.Equal(alone, (await inBatch).Text);
        Assert.NotEqual(alone, other);
        Assert.Equal(7, client.Batching!.Submitted); // all of them batched: seeds no longer fall back
    }

    [Fact]
    public async Task Dispose_MidBatch_EveryStreamEndsCancelledAndNothingIsLeft()
    {
        using var model = LocalModel.Load(RandomFolder());
        var client = Batched(model, 4);
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 600 }.WithMinOutputTokens(600); // none ends before the dispose
        var decoding = new CountdownEvent(4);
        var streams = Prompts(4).Select(p => Task.Run(async () =>
        {
            int pieces = 0;
            await foreach (var _ in client.GetStreamingResponseAsync(p, options))
                if (++pieces == 2) decoding.Signal();
        })).ToArray();
        Assert.True(decoding.Wait(TimeSpan.FromMinutes(1)));
        var engine = client.Batching!;

        client.Dispose();

        foreach (var s in streams) await Assert.ThrowsAnyAsync<OperationCanceledException>(() => s);
        Assert.Equal(0, engine.LiveRequests);
        Assert.Throws<ObjectDisposedException>(() => engine.Submit([1, 2, 3], new GenerationSettings { MaxOutputTokens = 4 }));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.GetResponseAsync("after dispose"));
    }

    [Fact]
    public async Task GetResponseAsync_SixtyFourConcurrentWithRandomCancellation_AllEndExactAndNoSlotIsLeft()
    {
        using var model = LocalModel.Load(CopyFolder());
        using var meters = new TestMeters();
        using var client = Batched(model, 8, meters.Telemetry);
        var random = new Random(64);
        var requests = Enumerable.Range(0, 64).Select(i =>
        {
            var messages = new List<ChatMessage> { new(ChatRole.User, $"Request {i:D2} " + string.Concat(Enumerable.Repeat("x", random.Next(1, 80)))) };
            var cts = new CancellationTokenSource();
            if (random.Next(3) == 0) cts.CancelAfter(random.Next(0, 200));
            return (messages, cts, Task: Task.Run(() => client.GetResponseAsync(messages, new ChatOptions { Temperature = 0, MaxOutputTokens = 64 }, cts.Token)));
        }).ToList();

        await Task.WhenAll(requests.Select(r => r.Task)).ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(TimeSpan.FromMinutes(3));

        int finished = 0;
        foreach (var (messages, cts, task) in requests)
        {
            if (task.IsCanceled || task.Exception?.InnerException is OperationCanceledException)
            {
                Assert.True(cts.IsCancellationRequested);
                continue;
            }
            int[] prompt = model.Encode(model.ApplyChatTemplate(null, PromptRenderer.MessagesJson(messages), null));
            Assert.Equal(ByteTokenizer.Decode(CopyDesign.ExpectedReply(prompt, 64, Lag)), (await task).Text);
            finished++;
            cts.Dispose();
        }
        Assert.True(finished >= 32, $"only {finished} finished");
        Assert.InRange(client.Batching!.Submitted, finished, 64); // some were cancelled while queued, before reaching the engine
        Assert.Equal(0, client.Batching.LiveRequests);
        Assert.Equal(0, client.Scheduler.Active);
        Assert.Equal(0, client.Scheduler.ActiveBytes);
        Assert.Equal(0, meters.Sum("localllm.requests.active"));
    }

    [Fact]
    public async Task GetResponseAsync_SettingsTheEngineCannotServe_FallBackLoggedAndCountedWithTheReason()
    {
        using var model = LocalModel.Load(CopyFolder());
        using var meters = new TestMeters();
        var logger = new CollectingLogger();
        using var client = Batched(model, 2, meters.Telemetry, logger);
        var messages = Prompts(1)[0];

        await client.GetResponseAsync(Prompts(2)[1], new ChatOptions { Temperature = 0, MaxOutputTokens = 8 });
        int slot = client.Batching!.SlotLength;
        await client.GetResponseAsync(messages, new ChatOptions { Temperature = 0, MaxOutputTokens = 8 }.WithRegexGrammar("[a-z]+"));
        await client.GetResponseAsync(messages, new ChatOptions { Temperature = 0, MaxOutputTokens = 8 }.WithLogProbabilities());
        await client.GetResponseAsync(Prompts(3)[2], new ChatOptions { Temperature = 0, MaxOutputTokens = slot }); // prompt + output longer than a slot

        Assert.Equal(3, meters.Sum("localllm.batching.fallbacks"));
        Assert.Equal(1, meters.Sum("localllm.batching.requests"));
        var reasons = logger.Messages.Where(m => m.EventId == 1600).Select(m => m.Text).ToList();
        Assert.Equal(3, reasons.Count);
        Assert.Contains("a grammar", reasons[0], StringComparison.Ordinal);
        Assert.Contains("log-probabilities", reasons[1], StringComparison.Ordinal);
        Assert.Contains($"exceed a batch slot ({slot - 1} tokens)", reasons[2], StringComparison.Ordinal);
        Assert.Equal(1, client.Batching!.Submitted);
    }

    [Fact]
    public void Size_DefaultBudgetQwenShape_SlotsPerAdmittedRequestAndLengthFromHalfTheBudget()
    {
        var info = new ModelInfo
        {
            Folder = "/x", Id = "x", ModelType = "qwen2", Provider = ExecutionProvider.Cpu, ProviderReason = "", Precision = ModelPrecision.Int4,
            KvCachePrecision = ModelPrecision.Fp32, Layers = 24, Heads = 14, KvHeads = 2, HeadSize = 64, HiddenSize = 896, ContextLength = 32768,
            VocabSize = 151936, SharesKvBuffer = true, EosTokenIds = [1], FileSizes = new Dictionary<string, long>(),
        };
        // 24 KiB of KV per token; 1 GiB / 2 / 8 slots / 24 KiB = 2,730 → 2,560 positions (a multiple of 256).
        Assert.Equal((8, 2560), BatchingEngine.Size(info, new LocalLlmChatClientOptions { MaxConcurrentRequests = 8 }));
        Assert.Equal((16, 1280), BatchingEngine.Size(info, new LocalLlmChatClientOptions { MaxConcurrentRequests = 64 }));
        Assert.Equal(0, BatchingEngine.Size(info, new LocalLlmChatClientOptions { MaxConcurrentRequests = 8, KvCacheBudgetBytes = 1 << 20 }).SlotLength);
    }

    private sealed class CollectingLogger : ILogger<LocalLlmChatClient>
    {
        private readonly List<(int EventId, string Text)> _messages = [];

        public IReadOnlyList<(int EventId, string Text)> Messages { get { lock (_messages) return [.. _messages]; } }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_messages) _messages.Add((eventId.Id, formatter(state, exception)));
        }
    }
}

/// <summary>Shared prefixes: a prefix computed in one slot is copied into another instead of prefilled again.</summary>
public sealed class SharedPrefixTests
{
    private const int Lag = 17;

    private static string CopyFolder() =>
        ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Attention = AttentionKind.GroupQueryAttention, Lag = Lag });

    private static readonly string s_system = "You are a careful assistant. " + string.Concat(Enumerable.Repeat("Answer briefly and politely. ", 12));

    private static List<ChatMessage> Ask(string question) => [new(ChatRole.System, s_system), new(ChatRole.User, question)];

    private static int[] Tokens(LocalModel model, List<ChatMessage> messages) =>
        model.Encode(model.ApplyChatTemplate(null, PromptRenderer.MessagesJson(messages), null));

    /// <summary>What the engine may reuse: the common prefix, leaving at least one prompt token to run.</summary>
    private static int Shared(int[] held, int[] prompt) => prompt.AsSpan(0, prompt.Length - 1).CommonPrefixLength(held);

    [Fact]
    public async Task GetResponseAsync_SharedSystemPromptAcrossUsers_ReusedCountExactAndRepliesExact()
    {
        using var model = LocalModel.Load(CopyFolder());
        using var client = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { Batching = BatchingMode.Auto, MaxConcurrentRequests = 8 });
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 64 };
        var cold = Ask("What is first?");
        var first = await client.GetResponseAsync(cold, options);
        Assert.Equal(0, first.Usage!.CachedInputTokenCount);

        // Questions differ from their first letter, so what any two share is exactly the system prompt (and the template around it).
        var users = new[] { "Alpha?", "Bravo?", "Charlie?", "Delta?", "Echo?", "Foxtrot?" }.Select(Ask).ToArray();
        var answers = await Task.WhenAll(users.Select(u => Task.Run(() => client.GetResponseAsync(u, options))));

        int[] coldTokens = Tokens(model, cold);
        int system = coldTokens.AsSpan().CommonPrefixLength(Tokens(model, users[0]));
        Assert.True(system > 150, $"only {system} shared tokens"); // the system prompt, not just the template's opening
        for (int i = 0; i < users.Length; i++)
        {
            int[] prompt = Tokens(model, users[i]);
            // Every user shares exactly the system prompt (and template) with the cold request and with each other.
            Assert.Equal(Shared(coldTokens, prompt), answers[i].Usage!.CachedInputTokenCount);
            Assert.Equal(ByteTokenizer.Decode(CopyDesign.ExpectedReply(prompt, 64, Lag)), answers[i].Text);
        }
        Assert.Equal(7, client.Batching!.Submitted);
    }

    [Fact]
    public async Task GetResponseAsync_ConcurrentUsersWithoutAColdRequest_AllButTheFirstReuseTheSystemPrompt()
    {
        using var model = LocalModel.Load(CopyFolder());
        using var client = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { Batching = BatchingMode.Auto, MaxConcurrentRequests = 8 });
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 32 };
        var users = new[] { "Alpha?", "Bravo?", "Charlie?", "Delta?", "Echo?" }.Select(Ask).ToArray();

        var answers = await Task.WhenAll(users.Select(u => Task.Run(() => client.GetResponseAsync(u, options))));

        int shared = Tokens(model, users[0]).AsSpan().CommonPrefixLength(Tokens(model, users[1]));
        var reused = answers.Select(a => (int)a.Usage!.CachedInputTokenCount!.Value).Order().ToArray();
        Assert.Equal(0, reused[0]); // one of them prefilled the system prompt
        Assert.All(reused[1..], r => Assert.Equal(shared, r)); // the others copied it (they prefill in arrival order)
        for (int i = 0; i < users.Length; i++)
            Assert.Equal(ByteTokenizer.Decode(CopyDesign.ExpectedReply(Tokens(model, users[i]), 32, Lag)), answers[i].Text);
    }

    [Fact]
    public async Task GetResponseAsync_NextTurnOfAConversation_ReusesTheHistoryFromTheEngine()
    {
        using var model = LocalModel.Load(CopyFolder());
        using var client = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { Batching = BatchingMode.Auto });
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 64, ConversationId = "c1" };
        var turn1 = new List<ChatMessage> { new(ChatRole.User, "Tell me a story about the sea.") };
        var first = await client.GetResponseAsync(turn1, options);
        var turn2 = new List<ChatMessage> { new(ChatRole.User, "And then?") };
        var second = await client.GetResponseAsync(turn2, options);

        List<ChatMessage> history = [.. turn1, new(ChatRole.Assistant, first.Text), .. turn2];
        int[] prompt1 = Tokens(model, turn1), prompt2 = Tokens(model, history);
        int[] held = [.. prompt1, .. model.Encode(first.Text)]; // the first turn's prompt and answer are in its slot
        Assert.Equal(2, client.Batching!.Submitted);
        Assert.Equal(Math.Min(Shared(held, prompt2), prompt1.Length + (int)first.Usage!.OutputTokenCount!.Value - 1), second.Usage!.CachedInputTokenCount);
        Assert.True(second.Usage.CachedInputTokenCount >= prompt1.Length - 1);
        Assert.Equal(ByteTokenizer.Decode(CopyDesign.ExpectedReply(prompt2, 64, Lag)), second.Text);
    }
}
