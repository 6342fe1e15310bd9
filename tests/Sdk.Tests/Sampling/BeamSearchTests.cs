using LocalLlm.ModelForge;

namespace LocalLlm.Tests.Sampling;

/// <summary>Beam search and several candidates through LocalLlmChatClient on the beam-trap design (greedy "ac", best "bx").</summary>
public sealed class BeamSearchTests(BeamTrapFixture fixture) : IClassFixture<BeamTrapFixture>
{
    private static readonly ChatMessage[] s_question = [new(ChatRole.User, "pick")];

    [Fact]
    public async Task GetResponseAsync_Greedy_TakesTheTrap()
    {
        using var client = new LocalLlmChatClient(fixture.Model);

        var response = await client.GetResponseAsync(s_question, new ChatOptions { Temperature = 0, MaxOutputTokens = 8 });

        Assert.Equal(BeamTrapDesign.GreedyReply, response.Text);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public async Task GetResponseAsync_BeamSearch_ReturnsTheMostProbableReply(int beams)
    {
        using var client = new LocalLlmChatClient(fixture.Model);

        var response = await client.GetResponseAsync(s_question, new ChatOptions { MaxOutputTokens = 8 }.WithNumBeams(beams));

        var message = Assert.Single(response.Messages);
        Assert.Equal(BeamTrapDesign.BestReply, message.Text);
        Assert.Equal(ChatRole.Assistant, message.Role);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.True(response.Usage!.InputTokenCount > 0);
        Assert.NotNull(response.GetGenerationStats());
    }

    [Fact]
    public async Task GetResponseAsync_BeamsWithCandidates_ReturnsBestBeamsInOrder()
    {
        using var client = new LocalLlmChatClient(fixture.Model);

        var response = await client.GetResponseAsync(s_question, new ChatOptions { MaxOutputTokens = 8 }.WithNumBeams(4).WithCandidateCount(3));

        // "bx" (0.4) first, then two of the four equally likely "a?" replies (0.15 each).
        Assert.Equal(3, response.Messages.Count);
        Assert.Equal(BeamTrapDesign.BestReply, response.Messages[0].Text);
        Assert.All(response.Messages.Skip(1), m => Assert.Matches("^a[cdef]$", m.Text));
        Assert.Equal(3, response.Messages.Select(m => m.Text).Distinct().Count());
    }

    [Fact]
    public async Task GetResponseAsync_SampledCandidates_OneMessageEach_SeededReproducibly()
    {
        using var client = new LocalLlmChatClient(fixture.Model);
        ChatOptions Options() => new ChatOptions { Temperature = 1, Seed = 5, MaxOutputTokens = 8 }.WithCandidateCount(6);

        var first = await client.GetResponseAsync(s_question, Options());
        var again = await client.GetResponseAsync(s_question, Options());

        Assert.Equal(6, first.Messages.Count);
        Assert.All(first.Messages, m => Assert.Matches("^(a[cdef]|bx)$", m.Text));
        Assert.Equal(first.Messages.Select(m => m.Text), again.Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task GetResponseAsync_BeamSearchMisuse_ThrowsNamingTheFix()
    {
        using var client = new LocalLlmChatClient(fixture.Model);

        var tooMany = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(s_question, new ChatOptions().WithNumBeams(2).WithCandidateCount(3)));
        Assert.Contains("WithNumBeams(2)", tooMany.Message, StringComparison.Ordinal);
        var sampled = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(s_question, new ChatOptions { Temperature = 0.7f }.WithNumBeams(2)));
        Assert.Contains("Temperature", sampled.Message, StringComparison.Ordinal);
        var grammar = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(s_question, new ChatOptions().WithNumBeams(2).WithRegexGrammar("b+")));
        Assert.Contains("grammar", grammar.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_BeamSearch_IsNotSupported()
    {
        using var client = new LocalLlmChatClient(fixture.Model);

        await Assert.ThrowsAsync<NotSupportedException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync(s_question, new ChatOptions().WithNumBeams(2))) { }
        });
    }

    [Fact]
    public async Task GetResponseAsync_BeamSearchCancelled_Throws()
    {
        using var client = new LocalLlmChatClient(fixture.Model);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync(s_question, new ChatOptions().WithNumBeams(2), cts.Token));
    }

    [Fact]
    public async Task UseSampling_ThenBeamSearch_BeamsStillWin()
    {
        using var client = new ChatClientBuilder(new LocalLlmChatClient(fixture.Model)).UseSampling(SamplingPreset.Creative).Build();

        var response = await client.GetResponseAsync(s_question, new ChatOptions { MaxOutputTokens = 8 }.WithNumBeams(3));

        Assert.Equal(BeamTrapDesign.BestReply, response.Text);
    }
}
