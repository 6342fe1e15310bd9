using LocalLlm.Guardrails.Judges;

namespace LocalLlm.Guardrails.Tests;

public class LlmJudgeCheckTests
{
    private static (LlmJudgeCheck Check, FakeChatClient Judge, List<ChatOptions?> Seen) Judge(string answer)
    {
        var seen = new List<ChatOptions?>();
        var judge = new FakeChatClient
        {
            GetResponseAsyncCallback = (_, options, _) =>
            {
                seen.Add(options);
                return Task.FromResult(FakeChatClient.Reply(answer));
            },
        };
        return (new LlmJudgeCheck(judge), judge, seen);
    }

    [Fact]
    public async Task CheckAsync_UnsafeAnswer_RejectsWithTheNamedCategory()
    {
        var (check, judge, seen) = Judge("unsafe S9");

        var verdict = await check.CheckAsync(new GuardrailContext(GuardrailStage.Output, "some answer"));

        Assert.Equal(GuardrailVerdictKind.Reject, verdict.Kind);
        Assert.Equal("unsafe.indiscriminate_weapons", verdict.Category);
        Assert.Contains("some answer", judge.LastMessages![1].Text, StringComparison.Ordinal);
        // The label is constrained by a guidance regex, greedy and short.
        var options = Assert.Single(seen)!;
        Assert.Equal(check.Grammar, options.AdditionalProperties![LocalLlmOptionKeys.RegexGrammar]);
        Assert.Equal(0f, options.Temperature);
        Assert.Equal(8, options.MaxOutputTokens);
    }

    [Fact]
    public async Task CheckAsync_SafeAnswer_Allows()
    {
        var (check, _, _) = Judge("safe");
        Assert.Equal(GuardrailVerdictKind.Allow, (await check.CheckAsync(new GuardrailContext(GuardrailStage.Input, "hello"))).Kind);
    }

    [Fact]
    public async Task Pipeline_UnparsableJudgeAnswer_FailsClosedAsConfigured()
    {
        var (check, _, _) = Judge("I think it is fine");
        var client = new ChatClientBuilder(new FakeChatClient()).UseGuardrails(g => g.AddOutputCheck(check)).Build();

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")]);

        Assert.Equal(ChatFinishReason.ContentFilter, response.FinishReason);
        Assert.Equal(GuardrailsOptions.CheckFailedCategory, response.AdditionalProperties![GuardrailsPropertyNames.Category]);
    }

    [Fact]
    public void Grammar_ListsEveryCategoryAndParsesItsOwnLabels()
    {
        var check = new LlmJudgeCheck(new FakeChatClient());
        Assert.Equal("(safe|unsafe (S10|S11|S12|S13|S14|S1|S2|S3|S4|S5|S6|S7|S8|S9))", check.Grammar);
        Assert.Equal("unsafe.suicide_self_harm", check.ParseAnswer("unsafe S11"));
        Assert.Null(check.ParseAnswer("safe"));
        Assert.Throws<FormatException>(() => check.ParseAnswer("unsafe S99"));
    }

    [Fact]
    public void Constructor_BadArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>("judge", () => new LlmJudgeCheck(null!));
        Assert.Throws<ArgumentException>("categories", () => new LlmJudgeCheck(new FakeChatClient(), new Dictionary<string, string> { ["X1"] = "bad code" }));
    }
}
