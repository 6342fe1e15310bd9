using System.Diagnostics.Metrics;
using LocalLlm.ModelForge;

namespace LocalLlm.Tests.Sampling;

/// <summary>
/// The guard on a model that loops by construction (copy design, lag 4: a chat reply is "ant\n" forever) and on
/// hand-written fakes: detection within the configured tokens, remedies that really stop the loop, streaming modes.
/// </summary>
public sealed class DegenerationGuardTests(LoopingModelFixture fixture) : IClassFixture<LoopingModelFixture>
{
    private static readonly ChatMessage[] s_hello = [new(ChatRole.User, "hello there")];

    /// <summary>A loop of period 4 is reported after exactly 3 repeats = 12 tokens.</summary>
    private static DegenerationGuardOptions Fast(params DegenerationRemedy[] remedies)
    {
        var o = new DegenerationGuardOptions { MinTokens = 8, MinRepeats = 3, MinLoopTokens = 12, HoldBackTokens = 16, MaxRetries = remedies.Length };
        o.Remedies.Clear();
        foreach (var r in remedies) o.Remedies.Add(r);
        return o;
    }

    private static void AssertNoLoop(string text, int ngram)
    {
        int[] tokens = ByteTokenizer.Encode(text);
        var grams = new HashSet<string>();
        for (int i = 0; i + ngram <= tokens.Length; i++)
            Assert.True(grams.Add(string.Join(',', tokens[i..(i + ngram)])), $"{ngram}-gram at {i} repeats in [{text}]");
        Assert.Null(new DegenerationDetector(new DegenerationGuardOptions { MinTokens = 8, MinLoopTokens = 12 }).Check(tokens));
    }

    [Fact]
    public async Task Model_WithoutGuard_Loops()
    {
        using var client = new LocalLlmChatClient(fixture.Model);
        var response = await client.GetResponseAsync(s_hello, new ChatOptions { MaxOutputTokens = 40, Temperature = 0 });

        Assert.Equal(string.Concat(Enumerable.Repeat("ant\n", 10)), response.Text);
    }

    [Fact]
    public async Task GetResponseAsync_LoopingModel_NoRepeatNgramRetry_DoesNotLoop()
    {
        using var meters = new MeterRecorder();
        using var client = new DegenerationGuardChatClient(new LocalLlmChatClient(fixture.Model), Tweak(Fast(DegenerationRemedy.NoRepeatNgram), ngram: 3));

        var response = await client.GetResponseAsync(s_hello, new ChatOptions { MaxOutputTokens = 40, Temperature = 0 });

        var report = (DegenerationReport)response.AdditionalProperties![DegenerationGuardChatClient.ReportKey]!;
        Assert.True(report.Resolved);
        Assert.Equal(2, report.Attempts);
        Assert.Equal([DegenerationRemedy.NoRepeatNgram], report.Remedies);
        Assert.Equal(DegenerationSignal.RepeatedSuffix, report.Finding.Signal);
        Assert.Equal(12, report.Finding.Tokens); // detected within the configured 12 tokens
        Assert.Equal(4, report.Finding.Period);
        Assert.NotEqual(DegenerationGuardChatClient.DegenerateFinishReason, response.FinishReason);
        Assert.True(response.Text.Length >= 20, response.Text);
        AssertNoLoop(response.Text, 3);
        Assert.Equal(1, meters.Sum("localllm.degeneration.triggers", "signal", "RepeatedSuffix"));
        Assert.Equal(1, meters.Sum("localllm.degeneration.remedies", "remedy", "NoRepeatNgram"));
        Assert.Equal(1, meters.Sum("localllm.degeneration.retries"));
    }

    [Fact]
    public async Task GetResponseAsync_LoopingModel_RepetitionPenaltyRetry_DoesNotLoop()
    {
        var options = Fast(DegenerationRemedy.RepetitionPenalty);
        options.RetryRepetitionPenalty = 5; // the copy design's designed logit (32) must fall below the others' (≤ 9.6)
        using var client = new DegenerationGuardChatClient(new LocalLlmChatClient(fixture.Model), options);

        var response = await client.GetResponseAsync(s_hello, new ChatOptions { MaxOutputTokens = 40, Temperature = 0 });

        var report = (DegenerationReport)response.AdditionalProperties![DegenerationGuardChatClient.ReportKey]!;
        Assert.True(report.Resolved);
        Assert.DoesNotContain("ant\nant", response.Text, StringComparison.Ordinal);
        Assert.Null(new DegenerationDetector(new DegenerationGuardOptions { MinTokens = 8, MinLoopTokens = 12 }).Check(ByteTokenizer.Encode(response.Text)));
    }

    [Fact]
    public async Task GetResponseAsync_DefaultRemedyOrder_TriesEachInTurnUntilTheLoopStops()
    {
        using var meters = new MeterRecorder();
        var options = Fast(DegenerationRemedy.RaiseTemperature, DegenerationRemedy.RepetitionPenalty, DegenerationRemedy.NoRepeatNgram);
        using var client = new DegenerationGuardChatClient(new LocalLlmChatClient(fixture.Model), options);

        var response = await client.GetResponseAsync(s_hello, new ChatOptions { MaxOutputTokens = 40, Temperature = 0, Seed = 1 });

        // A temperature of 0.4 and a penalty of 1.3 cannot beat a 22-logit margin; no_repeat_ngram_size 4 can.
        var report = (DegenerationReport)response.AdditionalProperties![DegenerationGuardChatClient.ReportKey]!;
        Assert.True(report.Resolved);
        Assert.Equal(4, report.Attempts);
        Assert.Equal(options.Remedies, report.Remedies);
        Assert.Equal(3, meters.Sum("localllm.degeneration.triggers"));
        Assert.Equal(3, meters.Sum("localllm.degeneration.retries"));
        Assert.Equal(1, meters.Sum("localllm.degeneration.remedies", "remedy", "RaiseTemperature"));
        Assert.Equal(1, meters.Sum("localllm.degeneration.remedies", "remedy", "NoRepeatNgram"));
        Assert.DoesNotContain("ant\nant", response.Text, StringComparison.Ordinal);
        Assert.Null(new DegenerationDetector(new DegenerationGuardOptions { MinTokens = 8, MinLoopTokens = 12 }).Check(ByteTokenizer.Encode(response.Text)));
    }

    [Fact]
    public async Task GetResponseAsync_RetriesExhausted_ReturnsMarkedAnswer()
    {
        using var client = new DegenerationGuardChatClient(new LocalLlmChatClient(fixture.Model), Fast(DegenerationRemedy.RaiseTemperature));

        var response = await client.GetResponseAsync(s_hello, new ChatOptions { MaxOutputTokens = 40, Temperature = 0 });

        Assert.Equal(DegenerationGuardChatClient.DegenerateFinishReason, response.FinishReason);
        var report = (DegenerationReport)response.AdditionalProperties![DegenerationGuardChatClient.ReportKey]!;
        Assert.False(report.Resolved);
        Assert.Equal(0, report.LoopStartCharacter);
        Assert.Equal("ant\nant\nant\n", response.Text); // generation stopped as soon as the loop was certain
    }

    [Fact]
    public async Task GetStreamingResponseAsync_LoopWithinHoldBack_RetriedBeforeAnythingIsShown()
    {
        using var client = new DegenerationGuardChatClient(new LocalLlmChatClient(fixture.Model), Tweak(Fast(DegenerationRemedy.NoRepeatNgram), ngram: 3));

        var updates = await client.GetStreamingResponseAsync(s_hello, new ChatOptions { MaxOutputTokens = 40, Temperature = 0 }).ToListAsync();

        string text = string.Concat(updates.Select(u => u.Text));
        Assert.DoesNotContain("ant\nant", text, StringComparison.Ordinal);
        AssertNoLoop(text, 3);
        var last = updates[^1];
        Assert.Equal(ChatFinishReason.Length, last.FinishReason);
        Assert.True(((DegenerationReport)last.AdditionalProperties![DegenerationGuardChatClient.ReportKey]!).Resolved);
        Assert.Equal(40, last.GetGenerationStats()!.OutputTokens);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_LoopAfterTextWasShown_EndsStreamAndSaysWhy()
    {
        var options = Fast(DegenerationRemedy.NoRepeatNgram);
        options.HoldBackTokens = 4;
        using var client = new DegenerationGuardChatClient(new LocalLlmChatClient(fixture.Model), options);

        var updates = await client.GetStreamingResponseAsync(s_hello, new ChatOptions { MaxOutputTokens = 40, Temperature = 0 }).ToListAsync();

        string shown = string.Concat(updates.Select(u => u.Text));
        Assert.Equal("ant\nant", shown); // 11 tokens passed the guard, the last 4 were held back and dropped
        var last = updates[^1];
        Assert.Equal(DegenerationGuardChatClient.DegenerateFinishReason, last.FinishReason);
        var report = (DegenerationReport)last.AdditionalProperties![DegenerationGuardChatClient.ReportKey]!;
        Assert.False(report.Resolved);
        Assert.Equal(0, report.LoopStartCharacter);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_PassThrough_ShowsEverythingThenMarksTheLoop()
    {
        var options = Fast(DegenerationRemedy.NoRepeatNgram);
        options.StreamingMode = DegenerationStreamingMode.PassThrough;
        using var client = new DegenerationGuardChatClient(new LocalLlmChatClient(fixture.Model), options);

        var updates = await client.GetStreamingResponseAsync(s_hello, new ChatOptions { MaxOutputTokens = 40, Temperature = 0 }).ToListAsync();

        Assert.Equal("ant\nant\nant", string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(DegenerationGuardChatClient.DegenerateFinishReason, updates[^1].FinishReason);
        Assert.Equal(0, ((DegenerationReport)updates[^1].AdditionalProperties![DegenerationGuardChatClient.ReportKey]!).LoopStartCharacter);
    }

    [Fact]
    public async Task GetResponseAsync_ConcurrentRequests_EachReportsItsOwnLoop()
    {
        // A loops with period 3, then B loops with period 4 while A's retry is held back; A's report must name its own loop.
        var inner = new InterleavedLoops();
        using var client = new DegenerationGuardChatClient(inner, Fast(DegenerationRemedy.RepetitionPenalty));

        var a = client.GetResponseAsync([new ChatMessage(ChatRole.User, "a")]);
        var b = client.GetResponseAsync([new ChatMessage(ChatRole.User, "b")]);
        var responses = await Task.WhenAll(a, b).WaitAsync(TimeSpan.FromSeconds(20));

        var reportA = (DegenerationReport)responses[0].AdditionalProperties![DegenerationGuardChatClient.ReportKey]!;
        var reportB = (DegenerationReport)responses[1].AdditionalProperties![DegenerationGuardChatClient.ReportKey]!;
        Assert.True(reportA.Resolved && reportB.Resolved);
        Assert.Equal(3, reportA.Finding.Period);
        Assert.Equal(4, reportB.Finding.Period);
    }

    /// <summary>Answers "a" and "b" in a fixed interleaving: A loops, B loops, then A's and B's retries answer well.</summary>
    private sealed class InterleavedLoops : IChatClient
    {
        private readonly TaskCompletionSource _aLooped = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _bLooped = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _aCalls, _bCalls;

        public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            string text;
            if (messages.Last().Text == "a")
            {
                if (Interlocked.Increment(ref _aCalls) == 1) { text = string.Concat(Enumerable.Repeat("la ", 20)); _aLooped.SetResult(); }
                else { await _bLooped.Task; text = "a calm and varied answer from the first user"; }
            }
            else
            {
                await _aLooped.Task;
                if (Interlocked.Increment(ref _bCalls) == 1)
                {
                    text = string.Concat(Enumerable.Repeat("ant\n", 10));
                    _ = Task.Delay(50, CancellationToken.None).ContinueWith(_ => _bLooped.SetResult(), TaskScheduler.Default); // after the guard saw B's loop
                }
                else text = "another calm answer, for the second user";
            }
            return new ChatResponse(new ChatMessage(ChatRole.Assistant, text)) { FinishReason = ChatFinishReason.Stop };
        }

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var response = await GetResponseAsync(messages, options, cancellationToken);
            foreach (var update in response.ToChatResponseUpdates()) yield return update;
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    [Fact]
    public async Task GetResponseAsync_HealthyAnswer_PassesUntouched()
    {
        var inner = new FakeChatClient { Reply = _ => "The quick brown fox jumps over the lazy dog, then naps in the afternoon sun." };
        using var client = new DegenerationGuardChatClient(inner, Fast(DegenerationRemedy.NoRepeatNgram));

        var response = await client.GetResponseAsync(s_hello);
        var streamed = await client.GetStreamingResponseAsync(s_hello).ToListAsync();

        Assert.Equal(inner.Reply(0), response.Text);
        Assert.Null(response.AdditionalProperties);
        Assert.Equal(inner.Reply(0), string.Concat(streamed.Select(u => u.Text)));
        Assert.Equal(ChatFinishReason.Stop, streamed[^1].FinishReason);
        Assert.Equal(2, inner.Seen.Count);
    }

    [Fact]
    public void Retry_SynchronizationContext_ReachesInnerClient_AndCallerOptionsUnchanged()
    {
        var inner = new FakeChatClient { Reply = n => n == 0 ? string.Concat(Enumerable.Repeat("la ", 20)) : "a calm and varied answer" };
        using var client = new DegenerationGuardChatClient(inner, Fast(DegenerationRemedy.RepetitionPenalty));
        var options = new ChatOptions { Temperature = 0.5f };
        SynchronizationContext? expected = null;
        string? text = null;

        PumpContext.Run(async () =>
        {
            expected = SynchronizationContext.Current;
            text = (await client.GetResponseAsync(s_hello, options)).Text;
            await foreach (var _ in client.GetStreamingResponseAsync(s_hello, options)) { }
        });

        Assert.Equal("a calm and varied answer", text);
        Assert.Equal(3, inner.Seen.Count); // loop, retry, then the stream (third call is healthy)
        Assert.All(inner.Contexts, c => Assert.Same(expected, c));
        Assert.Equal(1.3, inner.Seen[1]!.AdditionalProperties![LocalLlmOptionKeys.RepetitionPenalty]);
        Assert.Null(options.AdditionalProperties);
        Assert.Equal(0.5f, inner.Seen[1]!.Temperature);
    }

    [Fact]
    public async Task Cancellation_StopsBothMethods()
    {
        using var client = new DegenerationGuardChatClient(new LocalLlmChatClient(fixture.Model));
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync(s_hello, null, cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync(s_hello, null, cts.Token)) { }
        });
    }

    [Fact]
    public async Task NullArguments_AndBadOptions_Throw()
    {
        Assert.Throws<ArgumentNullException>("builder", () => ((ChatClientBuilder)null!).UseDegenerationGuard());
        Assert.Throws<ArgumentNullException>("innerClient", () => new DegenerationGuardChatClient(null!));
        Assert.Throws<ArgumentNullException>("options", () => new DegenerationDetector(null!));
        using var client = new DegenerationGuardChatClient(new FakeChatClient());
        await Assert.ThrowsAsync<ArgumentNullException>("messages", () => client.GetResponseAsync(null!));
        var e = Assert.Throws<ArgumentException>(() => new DegenerationGuardChatClient(new FakeChatClient(), new DegenerationGuardOptions { MinRepeats = 1 }));
        Assert.Contains("MinRepeats", e.Message, StringComparison.Ordinal);
        var built = new ChatClientBuilder(new FakeChatClient()).UseDegenerationGuard(o => o.Window = 0);
        Assert.Throws<ArgumentException>(() => built.Build());
    }

    [Theory]
    [InlineData("abcabcabcabcabcabcabcabcabcabcabcabc", DegenerationSignal.RepeatedSuffix)]
    [InlineData("xyxyxqxyxyxqxyxxyqxyxyxqxyxyxyqxxyxqyxyxyqxxyxqxyxyyxqxyxyxqxyxyq", DegenerationSignal.RepeatedNgrams)]
    [InlineData("aabbbabababbbaababbabbbaaabbbababbabaabababbbabababaabbbabaaabbba", DegenerationSignal.LowDistinctRatio)]
    public void Detector_EachSignal_Fires(string text, DegenerationSignal signal)
    {
        var options = new DegenerationGuardOptions { MinTokens = 8, MinLoopTokens = 30, MaxPeriod = 8, MinDistinctRatio = 0.05, MaxRepeatedNgramRatio = 0.6 };
        if (signal == DegenerationSignal.LowDistinctRatio) { options.MaxRepeatedNgramRatio = null; options.MinDistinctRatio = 0.1; }

        var finding = new DegenerationDetector(options).Check(ByteTokenizer.Encode(text));

        Assert.Equal(signal, finding?.Signal);
    }

    [Fact]
    public void Detector_LowSurprisal_FiresOnlyOnARepetitiveConfidentWindow()
    {
        var options = new DegenerationGuardOptions { MinTokens = 8, Window = 16, MinDistinctRatio = 0.2, MaxRepeatedNgramRatio = null, MaxMeanSurprisal = 0.05 };
        var detector = new DegenerationDetector(options);
        int[] repetitive = ByteTokenizer.Encode("abcabdabcabeabca"); // 5 distinct of 16: not below 0.2, but below 0.4
        int[] varied = ByteTokenizer.Encode("the fox jumps up");
        double[] confident = Enumerable.Repeat(-0.01, 16).ToArray();

        Assert.Equal(DegenerationSignal.LowSurprisal, detector.Check(repetitive, confident)?.Signal);
        Assert.Null(detector.Check(repetitive, Enumerable.Repeat(-1.0, 16).ToArray()));
        Assert.Null(detector.Check(varied, confident));
    }

    [Fact]
    public void Detector_NormalProse_DoesNotFire()
    {
        var detector = new DegenerationDetector(new DegenerationGuardOptions());
        string prose = "Beam search keeps several partial answers and extends each by its likeliest tokens; sampling draws one token at a time from the model's distribution, shaped by temperature, top-k and top-p.";
        var tokens = ByteTokenizer.Encode(prose);
        for (int i = 1; i <= tokens.Length; i++) Assert.Null(detector.Check(tokens[..i]));
    }

    private static DegenerationGuardOptions Tweak(DegenerationGuardOptions o, int ngram)
    {
        o.RetryNoRepeatNgramSize = ngram;
        return o;
    }

    /// <summary>Sums measurements of the LocalLlm meter's counters while alive.</summary>
    private sealed class MeterRecorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<(string Name, long Value, Dictionary<string, object?> Tags)> _events = [];

        public MeterRecorder()
        {
            _listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == LocalLlmTelemetry.Name && i.Name.StartsWith("localllm.degeneration", StringComparison.Ordinal)) l.EnableMeasurementEvents(i); };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) =>
            {
                lock (_events) _events.Add((i.Name, v, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
            });
            _listener.Start();
        }

        public long Sum(string name, string? tag = null, string? value = null)
        {
            lock (_events)
                return _events.Where(e => e.Name == name && (tag is null || Equals(e.Tags.GetValueOrDefault(tag), value))).Sum(e => e.Value);
        }

        public void Dispose() => _listener.Dispose();
    }
}
