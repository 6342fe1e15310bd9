using LocalLlm.ModelForge;

namespace LocalLlm.Tests.Conversations;

/// <summary>Conversation reuse on designed and random models: the same output as without reuse, with only the new tokens prefilled.</summary>
public sealed class KvCacheReuseTests
{
    private static readonly string[] s_turns =
    [
        "Tell me about the sea and the ships.",
        "And the lighthouse keepers?",
        "What did they eat in winter?",
        "Was it lonely out there, really?",
        "Thank you, that was lovely.",
    ];

    /// <summary>Every model with one generator per request (Batching Off: the KV-cache pool), and the GQA ones through the batching engine (the default), whose slots hold the prefixes.</summary>
    public static TheoryData<string, ModelDesign, WeightPrecision, AttentionKind, int, BatchingMode> Models
    {
        get
        {
            var data = new TheoryData<string, ModelDesign, WeightPrecision, AttentionKind, int, BatchingMode>();
            foreach (var (name, design, precision, attention, lag) in s_models)
            {
                data.Add(name, design, precision, attention, lag, BatchingMode.Off);
                if (attention == AttentionKind.GroupQueryAttention) data.Add(name, design, precision, attention, lag, BatchingMode.Auto);
            }
            return data;
        }
    }

    private static readonly (string, ModelDesign, WeightPrecision, AttentionKind, int)[] s_models =
    [
        // Lag 17: the reply is the user's last 4 tokens, then a copied <|im_end|> ends it (finish Stop).
        ("copy gqa ends", ModelDesign.Copy, WeightPrecision.Fp32, AttentionKind.GroupQueryAttention, 17),
        ("copy plain ends", ModelDesign.Copy, WeightPrecision.Fp32, AttentionKind.Plain, 17),
        ("copy int4 gqa ends", ModelDesign.Copy, WeightPrecision.Int4, AttentionKind.GroupQueryAttention, 17),
        // Lag 4: the reply cycles through "ant\n" until MaxOutputTokens (finish Length).
        ("copy gqa length", ModelDesign.Copy, WeightPrecision.Fp32, AttentionKind.GroupQueryAttention, 4),
        ("copy int4 plain length", ModelDesign.Copy, WeightPrecision.Int4, AttentionKind.Plain, 4),
        // Random weights: every layer's numerics, not just a designed attention pattern.
        ("random gqa", ModelDesign.Random, WeightPrecision.Fp32, AttentionKind.GroupQueryAttention, 4),
        ("random int4 plain", ModelDesign.Random, WeightPrecision.Int4, AttentionKind.Plain, 4),
    ];

    [Theory]
    [MemberData(nameof(Models))]
    public async Task GetResponseAsync_FiveTurns_SameOutputWithAndWithoutReuseAndOnlyNewTokensPrefilled(string name, ModelDesign design, WeightPrecision precision, AttentionKind attention, int lag, BatchingMode batching)
    {
        _ = name;
        string folder = ForgedModels.GetOrCreate(new ForgeOptions { Design = design, Precision = precision, Attention = attention, Lag = lag });
        using var model = LocalModel.Load(folder);
        using var meters = new TestMeters();
        using var reusing = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { EnableKvCacheReuse = true, Batching = batching }, meters.Telemetry);
        using var fresh = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { EnableKvCacheReuse = false, Batching = batching });
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 12 };
        int keptBack = model.Info.SharesKvBuffer ? 1 : 2;

        var history = new List<ChatMessage>();
        int[]? previousSequence = null;
        long reusedTotal = 0;
        for (int turn = 0; turn < s_turns.Length; turn++)
        {
            history.Add(new ChatMessage(ChatRole.User, s_turns[turn]));
            var withReuse = await reusing.GetResponseAsync(history, options);
            var without = await fresh.GetResponseAsync(history, options);

            Assert.Equal(without.Text, withReuse.Text);
            Assert.Equal(without.FinishReason, withReuse.FinishReason);
            var stats = withReuse.GetGenerationStats()!;
            Assert.Equal(0, without.GetGenerationStats()!.ReusedPromptTokens);

            int[] prompt = model.Encode(model.ApplyChatTemplate(null, PromptRenderer.MessagesJson(history), null));
            int[] expectedOutput = RawLoop.Greedy(model.NativeModel, prompt, 12);
            Assert.Equal(stats.OutputTokens, expectedOutput.Length);
            if (design == ModelDesign.Copy)
            {
                // Exactly the new tokens were prefilled: everything the previous turn computed that the prompt repeats was reused.
                int expectedReuse = previousSequence is null ? 0
                    : Math.Min(prompt.AsSpan().CommonPrefixLength(previousSequence), Math.Min(previousSequence.Length - keptBack, prompt.Length - 1));
                Assert.Equal(expectedReuse, stats.ReusedPromptTokens);
                Assert.Equal(expectedReuse, withReuse.Usage!.CachedInputTokenCount); // OpenAI's cached_tokens, in the usage users read
                if (turn > 0) Assert.True(stats.ReusedPromptTokens >= previousSequence!.Length - keptBack, $"turn {turn}: reused {stats.ReusedPromptTokens} of {prompt.Length}");
            }
            else if (turn > 0)
            {
                Assert.True(stats.ReusedPromptTokens > 0, $"turn {turn}: nothing reused");
            }
            reusedTotal += stats.ReusedPromptTokens;
            previousSequence = [.. prompt, .. expectedOutput];
            history.AddRange(withReuse.Messages);
        }

        Assert.Equal(reusedTotal, meters.Sum("localllm.kv_cache.reused_tokens"));
        Assert.Equal(s_turns.Length - 1, meters.Count("localllm.kv_cache.lookups", (_, hit) => hit == true));
        Assert.Equal(1, meters.Count("localllm.kv_cache.lookups", (_, hit) => hit == false));
        if (batching == BatchingMode.Off) Assert.True(meters.Sum("localllm.kv_cache.bytes") > 0, "the last generator stays cached");
        else Assert.Equal(s_turns.Length, reusing.Batching!.Submitted); // every turn ran in the engine, its history kept in a slot
    }

    [Fact]
    public async Task GetResponseAsync_ConversationId_AcceptsOnlyNewMessagesAndEchoesTheId()
    {
        string folder = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Attention = AttentionKind.GroupQueryAttention, Lag = 17 });
        using var model = LocalModel.Load(folder);
        using var client = new LocalLlmChatClient(model);
        using var stateless = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { EnableKvCacheReuse = false });
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 12, ConversationId = "conv-1" };

        var history = new List<ChatMessage>();
        for (int turn = 0; turn < 3; turn++)
        {
            var user = new ChatMessage(ChatRole.User, s_turns[turn]);
            history.Add(user);
            var response = await client.GetResponseAsync([user], options); // only the new message
            var expected = await stateless.GetResponseAsync(history, new ChatOptions { Temperature = 0, MaxOutputTokens = 12 });

            Assert.Equal("conv-1", response.ConversationId);
            Assert.Equal(expected.Text, response.Text);
            Assert.Equal(expected.Usage!.InputTokenCount, response.Usage!.InputTokenCount);
            if (turn > 0) Assert.True(response.GetGenerationStats()!.ReusedPromptTokens > 0);
            history.AddRange(expected.Messages);
        }

        // Sending the whole history with the id is understood too (not doubled).
        history.Add(new ChatMessage(ChatRole.User, s_turns[3]));
        var whole = await client.GetResponseAsync(history, options);
        var reference = await stateless.GetResponseAsync(history, new ChatOptions { Temperature = 0, MaxOutputTokens = 12 });
        Assert.Equal(reference.Usage!.InputTokenCount, whole.Usage!.InputTokenCount);
        Assert.Equal(reference.Text, whole.Text);
    }

    [Fact]
    public async Task GetResponseAsync_SmallBudget_EvictsLeastRecentlyUsedAndStaysUnderBudget()
    {
        // Copy GQA: 1 KiB of KV per token, and a reusable generator allocates at least 512 tokens = 512 KiB; each also
        // holds two rows of logits and 128 KiB of other native state (docs/kv-cache.md, measured RSS per cached generator).
        string folder = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Attention = AttentionKind.GroupQueryAttention, Lag = 17 });
        using var model = LocalModel.Load(folder);
        Assert.Equal(1024, model.Info.KvBytesPerToken);
        long generator = 512 * 1024 + 2L * model.Info.VocabSize * 4 + 128 * 1024;
        long budget = 4 * generator; // four generators
        using var meters = new TestMeters();
        using var client = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { KvCacheBudgetBytes = budget }, meters.Telemetry);
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 8 };

        var conversations = Enumerable.Range(0, 8).Select(i => new List<ChatMessage> { new(ChatRole.User, $"Conversation number {i} begins here.") }).ToList();
        foreach (var c in conversations) c.AddRange((await client.GetResponseAsync(c, options)).Messages);

        Assert.True(meters.Peak("localllm.kv_cache.bytes") <= budget, $"peak {meters.Peak("localllm.kv_cache.bytes")} > {budget}");
        Assert.Equal(4 * generator, meters.Sum("localllm.kv_cache.bytes"));
        Assert.Equal(4, meters.Sum("localllm.kv_cache.generators"));
        Assert.Equal(4, meters.Sum("localllm.kv_cache.evictions"));

        // The four most recent conversations are still cached, the four oldest were evicted.
        for (int i = 7; i >= 0; i--)
        {
            conversations[i].Add(new ChatMessage(ChatRole.User, "Go on."));
            var stats = (await client.GetResponseAsync(conversations[i], options)).GetGenerationStats()!;
            if (i >= 4) Assert.True(stats.ReusedPromptTokens > 0, $"conversation {i} should hit");
            else Assert.Equal(0, stats.ReusedPromptTokens);
        }
        Assert.True(meters.Peak("localllm.kv_cache.bytes") <= budget);
    }

    [Fact]
    public async Task GetResponseAsync_MoreDistinctRequestsThanMaxCachedGenerators_KeepsOnlyTheMostRecent()
    {
        // A model whose KV caches are tiny next to the budget: only the count bounds the pool.
        string folder = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Attention = AttentionKind.GroupQueryAttention, Lag = 17 });
        using var model = LocalModel.Load(folder);
        using var meters = new TestMeters();
        // The generator pool's count bound (Batching Off: with batching these requests keep their prefixes in engine slots).
        using var client = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { MaxCachedGenerators = 3, Batching = BatchingMode.Off }, meters.Telemetry);
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 8 };

        var conversations = Enumerable.Range(0, 7).Select(i => new List<ChatMessage> { new(ChatRole.User, $"Conversation number {i} begins here.") }).ToList();
        foreach (var c in conversations) c.AddRange((await client.GetResponseAsync(c, options)).Messages);

        Assert.Equal(3, meters.Sum("localllm.kv_cache.generators"));
        Assert.Equal(4, meters.Sum("localllm.kv_cache.evictions"));
        Assert.True(meters.Peak("localllm.kv_cache.generators") <= 3);
        conversations[6].Add(new ChatMessage(ChatRole.User, "Go on."));
        Assert.True((await client.GetResponseAsync(conversations[6], options)).GetGenerationStats()!.ReusedPromptTokens > 0, "the most recent conversation should hit");
        conversations[0].Add(new ChatMessage(ChatRole.User, "Go on."));
        Assert.Equal(0, (await client.GetResponseAsync(conversations[0], options)).GetGenerationStats()!.ReusedPromptTokens);
    }

    [Fact]
    public async Task GetResponseAsync_GrammarRequest_BypassesTheCache()
    {
        string folder = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Attention = AttentionKind.GroupQueryAttention, Lag = 17 });
        using var model = LocalModel.Load(folder);
        using var meters = new TestMeters();
        using var client = new LocalLlmChatClient(model, null, meters.Telemetry);
        var history = new List<ChatMessage> { new(ChatRole.User, "abc abc abc abc") };
        var grammar = new ChatOptions { Temperature = 0, MaxOutputTokens = 4 }.WithRegexGrammar("[a-c ]{1,4}");

        await client.GetResponseAsync(history, grammar);
        await client.GetResponseAsync(history, grammar);

        Assert.Equal(0, meters.Count("localllm.kv_cache.lookups", (_, _) => true));
        Assert.Equal(0, meters.Sum("localllm.kv_cache.bytes"));
    }

    [Fact]
    public async Task GetResponseAsync_DifferentSamplingOptions_DoNotShareAGenerator()
    {
        string folder = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Attention = AttentionKind.GroupQueryAttention, Lag = 17 });
        using var model = LocalModel.Load(folder);
        // Generator keys (Batching Off). The batching engine shares a prefix across sampling settings on purpose: keys and
        // values depend on the tokens alone, and each row samples with its own settings.
        using var client = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { Batching = BatchingMode.Off });
        var history = new List<ChatMessage> { new(ChatRole.User, "The same question twice.") };

        await client.GetResponseAsync(history, new ChatOptions { Temperature = 0, MaxOutputTokens = 4 });
        var sampled = await client.GetResponseAsync(history, new ChatOptions { Temperature = 0.7f, TopK = 5, MaxOutputTokens = 4 });
        var greedyAgain = await client.GetResponseAsync(history, new ChatOptions { Temperature = 0, MaxOutputTokens = 4 });

        Assert.Equal(0, sampled.GetGenerationStats()!.ReusedPromptTokens);
        Assert.True(greedyAgain.GetGenerationStats()!.ReusedPromptTokens > 0);
    }
}
