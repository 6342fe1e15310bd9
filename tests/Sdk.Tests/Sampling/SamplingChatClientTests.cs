namespace LocalLlm.Tests.Sampling;

/// <summary>The preset stage: what reaches the inner client, precedence, isolation, validation, context flow.</summary>
public sealed class SamplingChatClientTests
{
    private static readonly ChatMessage[] s_hello = [new(ChatRole.User, "hi")];

    [Fact]
    public async Task GetResponseAsync_NoOptions_InnerSeesEveryPresetValue()
    {
        var inner = new FakeChatClient();
        using var client = new SamplingChatClient(inner, SamplingPreset.Balanced);

        await client.GetResponseAsync(s_hello);

        var seen = inner.Seen.Single()!;
        Assert.Equal(0.7f, seen.Temperature);
        Assert.Equal(0.9f, seen.TopP);
        Assert.Equal(40, seen.TopK);
        Assert.Equal(1.1, seen.AdditionalProperties![LocalLlmOptionKeys.RepetitionPenalty]);
        Assert.Equal(0, seen.AdditionalProperties[LocalLlmOptionKeys.NoRepeatNgramSize]);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_RequestValue_OverridesPreset_AndCallerOptionsUnchanged()
    {
        var inner = new FakeChatClient();
        using var client = new SamplingChatClient(inner, SamplingPreset.Creative);
        var options = new ChatOptions { Temperature = 0.2f }.WithRepetitionPenalty(1.5);

        await foreach (var _ in client.GetStreamingResponseAsync(s_hello, options)) { }

        var seen = inner.Seen.Single()!;
        Assert.NotSame(options, seen);
        Assert.Equal(0.2f, seen.Temperature);
        Assert.Equal(1.5, seen.AdditionalProperties![LocalLlmOptionKeys.RepetitionPenalty]);
        Assert.Equal(100, seen.TopK);
        // The caller's object is exactly as it was.
        Assert.Null(options.TopK);
        Assert.Null(options.TopP);
        Assert.Equal(0.2f, options.Temperature);
        Assert.Single(options.AdditionalProperties!);
    }

    [Fact]
    public async Task GetResponseAsync_ForcedPreset_ReplacesRequestValues()
    {
        var inner = new FakeChatClient();
        using var client = new SamplingChatClient(inner, SamplingPreset.Precise with { Name = "Locked", Forced = true });
        var options = new ChatOptions { Temperature = 1.9f, TopK = 500 };

        await client.GetResponseAsync(s_hello, options);

        Assert.Equal(0.3f, inner.Seen.Single()!.Temperature);
        Assert.Equal(20, inner.Seen.Single()!.TopK);
        Assert.Equal(1.9f, options.Temperature);
    }

    [Fact]
    public async Task GetResponseAsync_BeamSearchRequest_GetsNoSamplingValues()
    {
        var inner = new FakeChatClient();
        using var client = new SamplingChatClient(inner, SamplingPreset.Balanced);

        await client.GetResponseAsync(s_hello, new ChatOptions().WithNumBeams(4));

        var seen = inner.Seen.Single()!;
        Assert.Null(seen.Temperature);
        Assert.Null(seen.TopK);
        Assert.Equal(1.1, seen.AdditionalProperties![LocalLlmOptionKeys.RepetitionPenalty]);
    }

    [Fact]
    public async Task GetResponseAsync_CustomPreset_NullValuesLeaveRequestAlone()
    {
        var inner = new FakeChatClient();
        using var client = new ChatClientBuilder(inner).UseSampling(new SamplingPreset("Mine") { TopK = 7 }).Build();

        await client.GetResponseAsync(s_hello, new ChatOptions { Temperature = 0.5f });

        var seen = inner.Seen.Single()!;
        Assert.Equal(7, seen.TopK);
        Assert.Equal(0.5f, seen.Temperature);
        Assert.Null(seen.TopP);
        Assert.Null(seen.AdditionalProperties);
    }

    [Fact]
    public void UseSampling_ByName_IsCaseInsensitive_AndUnknownNameListsPresets()
    {
        Assert.Same(SamplingPreset.Creative, SamplingPreset.FromName("creative"));
        var e = Assert.Throws<ArgumentException>(() => new ChatClientBuilder(new FakeChatClient()).UseSampling("wild"));
        Assert.Contains("Deterministic, Precise, Balanced, Creative", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-0.1f, null, null, null, null, "Temperature")]
    [InlineData(null, 0f, null, null, null, "TopP")]
    [InlineData(null, 1.5f, null, null, null, "TopP")]
    [InlineData(null, null, 0, null, null, "TopK")]
    [InlineData(null, null, null, 0.0, null, "RepetitionPenalty")]
    [InlineData(null, null, null, null, -1, "NoRepeatNgramSize")]
    public void Preset_OutOfRange_ThrowsNamingTheValue(float? temperature, float? topP, int? topK, double? penalty, int? ngram, string name)
    {
        var preset = new SamplingPreset("Bad") { Temperature = temperature, TopP = topP, TopK = topK, RepetitionPenalty = penalty, NoRepeatNgramSize = ngram };

        var e = Assert.Throws<ArgumentException>(() => new SamplingChatClient(new FakeChatClient(), preset));
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
        using var client = new SamplingChatClient(new FakeChatClient(), SamplingPreset.Balanced);
        Assert.Throws<ArgumentException>(() => client.Preset = preset);
    }

    [Fact]
    public void NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>("builder", () => ((ChatClientBuilder)null!).UseSampling());
        Assert.Throws<ArgumentNullException>("builder", () => ((ChatClientBuilder)null!).UseSampling("Balanced"));
        Assert.Throws<ArgumentNullException>("innerClient", () => new SamplingChatClient(null!, SamplingPreset.Balanced));
        Assert.Throws<ArgumentNullException>("preset", () => new SamplingChatClient(new FakeChatClient(), null!));
        using var client = new SamplingChatClient(new FakeChatClient(), SamplingPreset.Balanced);
        Assert.Throws<ArgumentNullException>("value", () => client.Preset = null!);
    }

    [Fact]
    public void GetResponseAsync_SynchronizationContext_ReachesInnerClient()
    {
        var inner = new FakeChatClient();
        using var client = new SamplingChatClient(inner, SamplingPreset.Balanced);
        SynchronizationContext? expected = null;

        PumpContext.Run(async () =>
        {
            expected = SynchronizationContext.Current;
            await Task.Yield();
            await client.GetResponseAsync(s_hello);
            await foreach (var _ in client.GetStreamingResponseAsync(s_hello)) { }
        });

        Assert.NotNull(expected);
        Assert.All(inner.Contexts, c => Assert.Same(expected, c));
    }

    [Fact]
    public async Task GetStreamingResponseAsync_Cancelled_Throws()
    {
        using var client = new SamplingChatClient(new FakeChatClient(), SamplingPreset.Balanced);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync(s_hello, null, cts.Token)) { }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync(s_hello, null, cts.Token));
    }
}
