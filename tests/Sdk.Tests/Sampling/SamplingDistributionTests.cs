using LocalLlm.ModelForge;

namespace LocalLlm.Tests.Sampling;

/// <summary>
/// Empirical token frequencies on the fixed-distribution model against the distribution derived by hand from the
/// settings (chi-square, fixed seeds). Without penalties every output token is an independent draw from the same
/// distribution, so one long answer gives thousands of samples; with a repetition penalty only the first token's
/// distribution is simple (it depends on the prompt's tokens), so presets sample one token per seed.
/// </summary>
public sealed class SamplingDistributionTests(FixedDistributionFixture fixture) : IClassFixture<FixedDistributionFixture>
{
    private static readonly ChatMessage[] s_prompt = [new(ChatRole.User, "zz")];

    private static Dictionary<string, int> Count(IEnumerable<string> samples)
    {
        var counts = new Dictionary<string, int>();
        foreach (string s in samples)
        {
            string bin = s.Length == 1 ? AnalyticSampling.Bin(s[0]) : "other";
            counts[bin] = counts.GetValueOrDefault(bin) + 1;
        }
        return counts;
    }

    private async Task<Dictionary<string, int>> LongAnswerCounts(ChatOptions options)
    {
        using var client = new LocalLlmChatClient(fixture.Model);
        var response = await client.GetResponseAsync(s_prompt, options);
        Assert.Equal(options.MaxOutputTokens, response.Usage!.OutputTokenCount);
        return Count(response.Text.Select(c => c.ToString()));
    }

    [Theory]
    [InlineData(0.7f, null, null)]
    [InlineData(1.5f, 5, null)]
    [InlineData(1.0f, null, 0.8f)]
    [InlineData(0.8f, 8, 0.9f)]
    public async Task LocalLlmChatClient_TemperatureTopKTopP_FrequenciesMatchAnalytic(float temperature, int? topK, float? topP)
    {
        var counts = await LongAnswerCounts(new ChatOptions { MaxOutputTokens = 600, Temperature = temperature, TopK = topK, TopP = topP, Seed = 11 });

        ChiSquare.AssertFits(counts, AnalyticSampling.Distribution(FixedDistribution.Logits, temperature, topK, topP));
    }

    [Fact]
    public async Task LocalLlmChatClient_TopK_NeverLeavesTheTopK()
    {
        var counts = await LongAnswerCounts(new ChatOptions { MaxOutputTokens = 600, Temperature = 5f, TopK = 3, Seed = 3 });

        Assert.Equal(["a", "b", "c"], counts.Keys.Order());
    }

    [Fact]
    public async Task LocalLlmChatClient_SameSeed_SameAnswer_OtherSeed_OtherAnswer()
    {
        using var client = new LocalLlmChatClient(fixture.Model);
        ChatOptions Options(long seed) => new() { MaxOutputTokens = 64, Temperature = 1f, Seed = seed };

        string first = (await client.GetResponseAsync(s_prompt, Options(42))).Text;
        string again = (await client.GetResponseAsync(s_prompt, Options(42))).Text;
        string other = (await client.GetResponseAsync(s_prompt, Options(43))).Text;

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public async Task LocalLlmChatClient_CandidateBatch_EachRowDrawsFromTheDistribution()
    {
        using var client = new LocalLlmChatClient(fixture.Model);

        var texts = new List<string>();
        for (int seed = 0; seed < 12; seed++)
        {
            var response = await client.GetResponseAsync(s_prompt, new ChatOptions { MaxOutputTokens = 1, Temperature = 0.9f, TopK = 12, Seed = seed }.WithCandidateCount(SampledCandidates.MaxBatch));
            Assert.Equal(SampledCandidates.MaxBatch, response.Messages.Count);
            texts.AddRange(response.Messages.Select(m => m.Text));
        }

        ChiSquare.AssertFits(Count(texts), AnalyticSampling.Distribution(FixedDistribution.Logits, 0.9, 12, null));
    }

    [Fact]
    public async Task LocalLlmChatClient_CandidateBatch_StopStringEndsEachRowOnItsOwn()
    {
        using var client = new LocalLlmChatClient(fixture.Model);

        var response = await client.GetResponseAsync(s_prompt, new ChatOptions { MaxOutputTokens = 60, Temperature = 1f, TopK = 4, Seed = 9, StopSequences = ["c"] }.WithCandidateCount(8));

        Assert.Equal(8, response.Messages.Count);
        Assert.All(response.Messages, m => Assert.Matches("^[abd]*$", m.Text));
        Assert.True(response.Messages.Select(m => m.Text.Length).Distinct().Count() > 1, "rows should stop at different points");
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    public static TheoryData<string> SampledPresets() => ["Precise", "Balanced", "Creative"];

    [Theory]
    [MemberData(nameof(SampledPresets))]
    public async Task UseSampling_EachPreset_FirstTokenFrequenciesMatchAnalytic(string name)
    {
        const int Samples = 300;
        var preset = SamplingPreset.FromName(name);
        using var client = new ChatClientBuilder(new LocalLlmChatClient(fixture.Model)).UseSampling(preset).Build();
        var samples = new List<string>(Samples);
        for (int seed = 0; seed < Samples; seed++)
            samples.Add((await client.GetResponseAsync(s_prompt, new ChatOptions { MaxOutputTokens = 1, Seed = seed })).Text);

        // The repetition penalty applies to every token already in the sequence: here, the prompt's.
        string promptText = fixture.Model.ApplyChatTemplate(null, PromptRenderer.MessagesJson(s_prompt), null);
        var seen = fixture.Model.Encode(promptText).ToHashSet();
        var expected = AnalyticSampling.Distribution(FixedDistribution.Logits, preset.Temperature!.Value, preset.TopK, preset.TopP, preset.RepetitionPenalty ?? 1, seen);
        ChiSquare.AssertFits(Count(samples), expected);
    }

    [Fact]
    public async Task UseSampling_Deterministic_AlwaysTheMostLikelyToken()
    {
        using var client = new ChatClientBuilder(new LocalLlmChatClient(fixture.Model)).UseSampling(SamplingPreset.Deterministic).Build();
        for (int seed = 0; seed < 5; seed++)
            Assert.Equal("aaaaaaaa", (await client.GetResponseAsync(s_prompt, new ChatOptions { MaxOutputTokens = 8, Seed = seed })).Text);
    }
}
