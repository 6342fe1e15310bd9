using LocalLlm.Guardrails.Pii;

namespace LocalLlm.Guardrails.Tests;

public class GuardrailsStreamingTests
{
    private static readonly ChatMessage[] s_question = [new(ChatRole.User, "Tell me something.")];

    private static IChatClient Build(FakeChatClient inner, Action<GuardrailsOptions> configure) =>
        new ChatClientBuilder(inner).UseGuardrails(configure).Build();

    private static FakeChatClient Streaming(params string[] chunks) =>
        new() { GetStreamingResponseAsyncCallback = (_, _, ct) => FakeChatClient.Chunks(ct, chunks) };

    private static async Task<List<ChatResponseUpdate>> Collect(IAsyncEnumerable<ChatResponseUpdate> updates)
    {
        var list = new List<ChatResponseUpdate>();
        await foreach (var u in updates)
            list.Add(u);
        return list;
    }

    // Splits text into chunks of a few characters, like tokens.
    private static string[] Tokens(string text, int size = 3) =>
        [.. Enumerable.Range(0, (text.Length + size - 1) / size).Select(i => text.Substring(i * size, Math.Min(size, text.Length - i * size)))];

    [Fact]
    public async Task GetStreamingResponseAsync_AllAllowed_ReleasesTheSameTextAndFinishReason()
    {
        const string answer = "The quick brown fox jumps over the lazy dog. It was a sunny day in the park, and everyone was happy.";
        var client = Build(Streaming(Tokens(answer)), g => g.AddOutputCheck(FakeCheck.RejectWord("forbidden", "x")).HoldbackCharacters = 16);

        var updates = await Collect(client.GetStreamingResponseAsync(s_question));

        Assert.Equal(answer, string.Concat(updates.Select(u => u.Text)));
        Assert.True(updates.Count > 3, "text is released while the answer streams, not only at the end");
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
        Assert.All(updates, u => Assert.Equal("r1", u.ResponseId));
    }

    [Fact]
    public async Task GetStreamingResponseAsync_RejectedInput_YieldsOnlyTheFallback()
    {
        var inner = Streaming("never");
        var client = Build(inner, g => g.AddInputCheck(FakeCheck.RejectWord("something", "x")));

        var updates = await Collect(client.GetStreamingResponseAsync(s_question));

        var update = Assert.Single(updates);
        Assert.Equal(0, inner.Calls);
        Assert.Equal(ChatFinishReason.ContentFilter, update.FinishReason);
        Assert.Equal(new GuardrailsOptions().DefaultFallback, update.Text);
        Assert.Equal("x", update.AdditionalProperties![GuardrailsPropertyNames.Category]);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_EmailSplitAcrossChunks_NeverReachesTheCaller()
    {
        const string email = "jane.doe@example.com";
        string answer = $"Sure. You can write to {email} any time, or call the office tomorrow morning.";
        // Chunks of 1..4 characters: the address is cut in many places.
        var chunks = new List<string>();
        for (int i = 0, size = 1; i < answer.Length; i += size, size = size % 4 + 1)
            chunks.Add(answer.Substring(i, Math.Min(size, answer.Length - i)));
        var client = Build(Streaming([.. chunks]), g => g.AddOutputCheck(new PiiCheck()));

        var updates = await Collect(client.GetStreamingResponseAsync(s_question));

        string all = string.Concat(updates.Select(u => u.Text));
        Assert.Equal($"Sure. You can write to [EMAIL_ADDRESS] any time, or call the office tomorrow morning.", all);
        Assert.All(updates, u => Assert.DoesNotContain("@", u.Text, StringComparison.Ordinal));
        Assert.All(updates, u => Assert.DoesNotContain("jane", u.Text, StringComparison.Ordinal));
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_SentenceHoldback_ReleasesWholeSentencesOnly()
    {
        const string answer = "First sentence here. Second one! Third?";
        var client = Build(Streaming(Tokens(answer, 2)), g =>
        {
            g.AddOutputCheck(FakeCheck.RejectWord("forbidden", "x"));
            g.Holdback = GuardrailHoldback.Sentence;
        });

        var texts = (await Collect(client.GetStreamingResponseAsync(s_question))).Select(u => u.Text).Where(t => t.Length > 0).ToList();

        Assert.Equal(["First sentence here.", " Second one!", " Third?"], texts);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ViolationMidStream_EndsWithFallbackAndNoViolatingText()
    {
        string answer = "This part is fine and long enough to be released early. Then comes the forbidden word and more text after it.";
        var client = Build(Streaming(Tokens(answer)), g => g
            .AddOutputCheck(FakeCheck.RejectWord("forbidden", "bad"))
            .SetPolicy("bad", GuardrailAction.Block, "[removed]")
            .HoldbackCharacters = 16);

        var updates = await Collect(client.GetStreamingResponseAsync(s_question));

        Assert.DoesNotContain("forbidden", string.Concat(updates.Select(u => u.Text)), StringComparison.Ordinal);
        Assert.DoesNotContain("forb", string.Concat(updates.Select(u => u.Text)), StringComparison.Ordinal);
        Assert.StartsWith("This part is fine", string.Concat(updates.Select(u => u.Text)), StringComparison.Ordinal);
        var last = updates[^1];
        Assert.Equal("[removed]", last.Text);
        Assert.Equal(ChatFinishReason.ContentFilter, last.FinishReason);
        Assert.Equal("bad", last.AdditionalProperties![GuardrailsPropertyNames.Category]);
        Assert.Equal("output", last.AdditionalProperties[GuardrailsPropertyNames.Stage]);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ViolationInLastCharacters_CaughtByFinalCheck()
    {
        var client = Build(Streaming("All good so far, ", "and then: forbidden"), g => g.AddOutputCheck(FakeCheck.RejectWord("forbidden", "bad")).HoldbackCharacters = 4);

        var updates = await Collect(client.GetStreamingResponseAsync(s_question));

        Assert.DoesNotContain("forbidden", string.Concat(updates.Select(u => u.Text)), StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.ContentFilter, updates[^1].FinishReason);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_FlagAndEscalate_AnnotateTheLastUpdate()
    {
        var client = Build(Streaming("I think ", "maybe ", "it is 4."), g => g
            .AddOutputCheck(FakeCheck.RejectWord("maybe", "uncertain"))
            .AddOutputCheck(FakeCheck.RejectWord("think", "opinion"))
            .SetPolicy("uncertain", GuardrailAction.Escalate)
            .SetPolicy("opinion", GuardrailAction.Flag));

        var updates = await Collect(client.GetStreamingResponseAsync(s_question));
        var response = updates.ToChatResponse();

        Assert.Equal("I think maybe it is 4.", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal("uncertain", EscalationMarker.From(updates[^1].AdditionalProperties)!.Reason);
        Assert.Equal(["opinion"], (string[])updates[^1].AdditionalProperties![GuardrailsPropertyNames.Flags]!);
        Assert.Equal("uncertain", EscalationMarker.From(response.AdditionalProperties)!.Reason);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_Rewrite_HoldsTheWholeAnswerAndReturnsTheRewrite()
    {
        var rewrite = new FakeCheck("rewrite", c => c.Text.StartsWith("this", StringComparison.Ordinal) ? GuardrailVerdict.Rewrite("tone", c.Text.ToUpperInvariant()) : GuardrailVerdict.Allow, GuardrailCost.Cheap);
        var client = Build(Streaming(Tokens("this answer is loud and long enough to pass the hold back window of a few chars")), g =>
        {
            g.AddOutputCheck(rewrite);
            g.HoldbackCharacters = 8;
        });

        var updates = await Collect(client.GetStreamingResponseAsync(s_question));

        Assert.Equal("THIS ANSWER IS LOUD AND LONG ENOUGH TO PASS THE HOLD BACK WINDOW OF A FEW CHARS", string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_LateRedactionOfReleasedText_EndsWithFallback()
    {
        // A detector that only recognises its match once more text arrives: the released prefix can't be taken back.
        var late = new FakeCheck("late", c =>
            c.Text.Contains("TRIGGER", StringComparison.Ordinal) ? GuardrailVerdict.Modify("late", [new TextEdit(0, 4, "****")]) : GuardrailVerdict.Allow, GuardrailCost.Cheap);
        var client = Build(Streaming("abcdefghij", "klmnopqrst", "TRIGGER"), g => { g.AddOutputCheck(late); g.HoldbackCharacters = 2; });

        var updates = await Collect(client.GetStreamingResponseAsync(s_question));

        Assert.Equal(ChatFinishReason.ContentFilter, updates[^1].FinishReason);
        Assert.Equal(GuardrailsOptions.StreamRewriteCategory, updates[^1].AdditionalProperties![GuardrailsPropertyNames.Category]);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_NonTextContent_PassesThrough()
    {
        static async IAsyncEnumerable<ChatResponseUpdate> WithUsage()
        {
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, "hello there");
            yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { OutputTokenCount = 2 })]) { FinishReason = ChatFinishReason.Length };
        }
        var client = Build(new FakeChatClient { GetStreamingResponseAsyncCallback = (_, _, _) => WithUsage() }, g => g.AddOutputCheck(FakeCheck.RejectWord("x1", "x")));

        var response = (await Collect(client.GetStreamingResponseAsync(s_question))).ToChatResponse();

        Assert.Equal("hello there", response.Text);
        Assert.Equal(2, response.Usage!.OutputTokenCount);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_CancelledWhileStreaming_Throws()
    {
        using var cts = new CancellationTokenSource();
        var client = Build(Streaming(Tokens(new string('a', 300))), g => g.AddOutputCheck(FakeCheck.RejectWord("x1", "x")).HoldbackCharacters = 10);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(s_question, cancellationToken: cts.Token))
                cts.Cancel();
        });
    }

    [Fact]
    public async Task GetStreamingResponseAsync_OnlyInputChecks_PassesUpdatesThroughAndAnnotatesFlags()
    {
        var client = Build(Streaming("a", "b"), g => g.AddInputCheck(FakeCheck.RejectWord("something", "odd")).SetPolicy("odd", GuardrailAction.Flag));

        var updates = await Collect(client.GetStreamingResponseAsync(s_question));

        Assert.Equal("ab", string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(["odd"], (string[])updates[^1].AdditionalProperties![GuardrailsPropertyNames.Flags]!);
    }
}

/// <summary>Output checks on a stream see overlapping windows, so the work per character stays bounded however long the answer.</summary>
public class IncrementalOutputCheckTests
{
    private static string[] Tokens(int characters) =>
        [.. Enumerable.Range(0, characters / 4).Select(i => $"w{i % 10}{(i % 7 == 6 ? ". " : "  ")}"[..4])];

    [Theory]
    [InlineData(GuardrailHoldback.Characters)]
    [InlineData(GuardrailHoldback.Sentence)]
    public async Task GetStreamingResponseAsync_LongAnswer_EachCharacterIsCheckedABoundedNumberOfTimes(GuardrailHoldback holdback)
    {
        double PerCharacter(int length)
        {
            var check = FakeCheck.RejectWord("never-matches", "x");
            var inner = new FakeChatClient { GetStreamingResponseAsyncCallback = (_, _, ct) => FakeChatClient.Chunks(ct, Tokens(length)) };
            using var client = new ChatClientBuilder(inner).UseGuardrails(g => { g.AddOutputCheck(check); g.Holdback = holdback; }).Build();
            string text = string.Concat(client.GetStreamingResponseAsync([new(ChatRole.User, "q")]).ToBlockingEnumerable().Select(u => u.Text));
            Assert.Equal(string.Concat(Tokens(length)), text);
            return check.Seen.Sum(s => (double)s.Length) / text.Length;
        }

        double at2k = PerCharacter(2_000), at16k = PerCharacter(16_000);

        // Re-checking the whole text at every step would read each character about (length / step) times: 60+ at 16k.
        Assert.InRange(at16k, 1, 8);
        Assert.InRange(at16k / at2k, 0.8, 1.25); // flat in the answer's length
    }

    [Fact]
    public async Task GetStreamingResponseAsync_WindowedMaxLength_StillSeesTheWholeLength()
    {
        var inner = new FakeChatClient { GetStreamingResponseAsyncCallback = (_, _, ct) => FakeChatClient.Chunks(ct, Tokens(400)) };
        using var client = new ChatClientBuilder(inner).UseGuardrails(g => g.AddOutputCheck(new LocalLlm.Guardrails.Rules.MaxLengthCheck(300))).Build();

        var updates = await client.GetStreamingResponseAsync([new(ChatRole.User, "q")]).ToListAsync();

        Assert.Equal(ChatFinishReason.ContentFilter, updates[^1].FinishReason);
        Assert.True(string.Concat(updates.Select(u => u.Text)).Length < 400);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_InnerUpdateProperties_PassThroughTheStage()
    {
        static async IAsyncEnumerable<ChatResponseUpdate> Inner()
        {
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, "Hello there, this is a longer answer than the hold-back window.");
            yield return new ChatResponseUpdate(ChatRole.Assistant, " Done.")
            {
                FinishReason = ChatFinishReason.Stop,
                AdditionalProperties = new() { [LocalLlmResponseExtensions.StatsKey] = new GenerationStats { OutputTokens = 7 }, [LocalLlmResponseExtensions.LogProbabilitiesKey] = new[] { -0.1, -0.2 } },
            };
        }
        var inner = new FakeChatClient { GetStreamingResponseAsyncCallback = (_, _, _) => Inner() };
        using var client = new ChatClientBuilder(inner).UseGuardrails(g => g.AddOutputCheck(FakeCheck.RejectWord("never-matches", "x"))).Build();

        var response = await client.GetStreamingResponseAsync([new(ChatRole.User, "q")]).ToChatResponseAsync();
        var updates = await client.GetStreamingResponseAsync([new(ChatRole.User, "q")]).ToListAsync();

        Assert.Equal(7, updates.Select(u => u.GetGenerationStats()).Single(s => s is not null)!.OutputTokens);
        // Where ToChatResponseAsync puts an update's properties (the response's, or its message's), the log-probabilities are there.
        var properties = response.AdditionalProperties?.ContainsKey(LocalLlmResponseExtensions.LogProbabilitiesKey) == true ? response.AdditionalProperties : response.Messages[^1].AdditionalProperties;
        Assert.Equal(new[] { -0.1, -0.2 }, (double[])properties![LocalLlmResponseExtensions.LogProbabilitiesKey]!);
    }
}
