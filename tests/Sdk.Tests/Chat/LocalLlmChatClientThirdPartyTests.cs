namespace LocalLlm.Tests.Chat;

/// <summary>The client on a folder this repo did not make: exactness against the raw API, limits, usage, stops, bad requests.</summary>
public sealed class LocalLlmChatClientThirdPartyTests(ThirdPartyModelFixture fixture) : IClassFixture<ThirdPartyModelFixture>
{
    private static readonly ChatMessage[] s_hello = [new(ChatRole.User, "Hello, how are you?")];

    private LocalLlmChatClient NewClient(LocalLlmChatClientOptions? options = null) => new(fixture.Model, options);

    [Fact]
    public async Task GetStreamingResponseAsync_Greedy_MatchesRawLoopTokenForToken()
    {
        using var client = NewClient();
        var options = new ChatOptions { MaxOutputTokens = 24, Temperature = 0 };

        var updates = await client.GetStreamingResponseAsync(s_hello, options).ToListAsync();
        string streamed = string.Concat(updates.Select(u => u.Text));

        string prompt = fixture.Model.ApplyChatTemplate(null, PromptRenderer.MessagesJson(s_hello), null);
        int[] expected = RawLoop.Greedy(fixture.Model.NativeModel, fixture.Model.Encode(prompt), 24);
        Assert.Equal(fixture.Model.Decode(expected.Where(t => !fixture.Model.Info.EosTokenIds.Contains(t)).ToArray()), streamed);
    }

    [Fact]
    public async Task GetResponseAsync_MaxOutputTokens_IsExactWithLengthAndExactUsage()
    {
        using var client = NewClient();
        var response = await client.GetResponseAsync(s_hello, new ChatOptions { MaxOutputTokens = 7, Temperature = 0 });

        string prompt = fixture.Model.ApplyChatTemplate(null, PromptRenderer.MessagesJson(s_hello), null);
        int promptTokens = fixture.Model.Encode(prompt).Length;
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(7, response.Usage!.OutputTokenCount);
        Assert.Equal(promptTokens, response.Usage.InputTokenCount);
        Assert.Equal(promptTokens + 7, response.Usage.TotalTokenCount);
        Assert.Equal(7, response.GetGenerationStats()!.OutputTokens);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_Updates_CarryIdsAndLastCarriesUsageAndFinishReason()
    {
        using var client = NewClient();
        var updates = await client.GetStreamingResponseAsync(s_hello, new ChatOptions { MaxOutputTokens = 5 }).ToListAsync();

        Assert.All(updates, u =>
        {
            Assert.False(string.IsNullOrEmpty(u.ResponseId));
            Assert.False(string.IsNullOrEmpty(u.MessageId));
            Assert.NotNull(u.CreatedAt);
        });
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
        var last = updates[^1];
        Assert.NotNull(last.FinishReason);
        Assert.Contains(last.Contents, c => c is UsageContent);
        Assert.All(updates.SkipLast(1), u => Assert.Null(u.FinishReason));
    }

    [Fact]
    public async Task GetStreamingResponseAsync_StopSpanningTokens_NeverLeaksAndFinishesWithStop()
    {
        using var client = NewClient();
        var greedy = new ChatOptions { MaxOutputTokens = 30, Temperature = 0 };
        string full = (await client.GetResponseAsync(s_hello, greedy)).Text;
        Assert.True(full.Length >= 12, "the reference answer is long enough to cut");

        // A stop string that starts mid-answer and spans several tokens.
        string stop = full.Substring(full.Length / 2, 6);
        int cut = full.IndexOf(stop, StringComparison.Ordinal);
        var withStop = greedy.Clone();
        withStop.StopSequences = [stop];

        var updates = await client.GetStreamingResponseAsync(s_hello, withStop).ToListAsync();
        string streamed = string.Concat(updates.Select(u => u.Text));

        Assert.Equal(full[..cut], streamed);
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
        for (int len = 1; len <= stop.Length; len++)
            Assert.DoesNotContain(stop[..len], streamed[Math.Max(0, cut - len + 1)..]);
    }

    [Fact]
    public async Task GetResponseAsync_SameSeed_Reproduces()
    {
        using var client = NewClient();
        var sampling = new ChatOptions { MaxOutputTokens = 16, Temperature = 1.5f, TopK = 50, Seed = 42 };
        var a = await client.GetResponseAsync(s_hello, sampling);
        var b = await client.GetResponseAsync(s_hello, sampling);
        Assert.Equal(a.Text, b.Text);
    }

    public static TheoryData<ChatOptions, string> BadOptions => new()
    {
        { new ChatOptions { Temperature = float.NaN }, "Temperature" },
        { new ChatOptions { Temperature = -0.5f }, "Temperature" },
        { new ChatOptions { TopP = 0f }, "TopP" },
        { new ChatOptions { TopP = 1.5f }, "TopP" },
        { new ChatOptions { TopK = 0 }, "TopK" },
        { new ChatOptions { MaxOutputTokens = 0 }, "MaxOutputTokens" },
        { new ChatOptions { MaxOutputTokens = -3 }, "MaxOutputTokens" },
        { new ChatOptions { StopSequences = [""] }, "StopSequences" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public async Task GetResponseAsync_NonsenseOption_ThrowsArgumentExceptionNamingIt(ChatOptions options, string name)
    {
        using var client = NewClient();
        var e = await Assert.ThrowsAnyAsync<ArgumentException>(() => client.GetResponseAsync(s_hello, options));
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetResponseAsync_EmptyMessages_ThrowsArgumentException()
    {
        using var client = NewClient();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync([]));
        Assert.Contains("empty", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetResponseAsync_UnknownRole_ThrowsArgumentExceptionNamingRole()
    {
        using var client = NewClient();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync([new ChatMessage(new ChatRole("narrator"), "hi")]));
        Assert.Contains("narrator", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetResponseAsync_PromptLongerThanContext_ThrowsNamingBothLengths()
    {
        using var client = NewClient();
        string huge = string.Join(' ', Enumerable.Repeat("banana", 1500)); // > 2048 tokens
        var e = await Assert.ThrowsAsync<PromptLengthException>(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, huge)]));
        Assert.Equal(2048, e.ContextLength);
        Assert.True(e.PromptTokens > 2048);
        Assert.Contains(e.PromptTokens.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
        Assert.Contains("2048", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetResponseAsync_DropOldestTurns_KeepsSystemAndLastMessage()
    {
        using var client = NewClient(new LocalLlmChatClientOptions { Truncation = PromptTruncation.DropOldestTurns });
        string big = string.Join(' ', Enumerable.Repeat("banana", 700));
        ChatMessage[] history =
        [
            new(ChatRole.System, "You are terse."),
            new(ChatRole.User, big), new(ChatRole.Assistant, big),
            new(ChatRole.User, big), new(ChatRole.Assistant, "ok"),
            new(ChatRole.User, "Last question?"),
        ];
        var response = await client.GetResponseAsync(history, new ChatOptions { MaxOutputTokens = 3 });
        Assert.True(response.Usage!.InputTokenCount < 2048);
        Assert.True(response.Usage.InputTokenCount > 700, "only as much as needed was dropped");
    }

    [Fact]
    public async Task GetStreamingResponseAsync_Streaming_WithBeams_ThrowsNotSupported()
    {
        using var client = NewClient();
        await Assert.ThrowsAsync<NotSupportedException>(async () =>
            await client.GetStreamingResponseAsync(s_hello, new ChatOptions().WithNumBeams(4)).ToListAsync());
    }

    [Fact]
    public void GetService_ReturnsMetadataModelInfoAndNativeObjects()
    {
        using var client = NewClient();
        var metadata = client.GetService<ChatClientMetadata>();
        Assert.Equal("onnxruntime-genai", metadata!.ProviderName);
        Assert.Equal("tiny-random-llama-fp16", metadata.DefaultModelId);
        var info = client.GetService<ModelInfo>()!;
        Assert.Equal(2, info.Layers);
        Assert.Equal(32000, info.VocabSize);
        Assert.Equal(ModelPrecision.Fp16, info.Precision);
        Assert.Equal(ExecutionProvider.Cpu, info.Provider);
        Assert.Same(fixture.Model, client.GetService<LocalModel>());
        Assert.NotNull(client.GetService<Microsoft.ML.OnnxRuntimeGenAI.Tokenizer>());
        Assert.Null(client.GetService<ChatClientMetadata>("some-key"));
    }

    [Fact]
    public async Task GetResponseAsync_Instructions_BecomeTheSystemMessage()
    {
        string? seen = null;
        using var client = NewClient(new LocalLlmChatClientOptions
        {
            PromptFormatter = (messages, _) => seen = string.Join("|", messages.Select(m => $"{m.Role.Value}:{m.Text}")),
        });
        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { Instructions = "Be kind.", MaxOutputTokens = 1 });
        Assert.Equal("system:Be kind.|user:hi", seen);
    }

    [Fact]
    public async Task GetResponseAsync_LogProbabilities_OnePerTokenAndNotPositive()
    {
        using var client = NewClient();
        var response = await client.GetResponseAsync(s_hello, new ChatOptions { MaxOutputTokens = 6, Temperature = 0 }.WithLogProbabilities());
        var logProbs = response.GetTokenLogProbabilities();
        Assert.NotNull(logProbs);
        Assert.Equal(6, logProbs.Count);
        Assert.All(logProbs, lp => Assert.InRange(lp, double.NegativeInfinity, 1e-9));
    }
}
