namespace LocalLlm.Guardrails.Tests;

public class GuardrailsChatClientTests
{
    private static readonly ChatMessage[] s_question = [new(ChatRole.User, "What is the capital of France?")];

    private static IChatClient Build(FakeChatClient inner, Action<GuardrailsOptions> configure) =>
        new ChatClientBuilder(inner).UseGuardrails(configure).Build();

    private static T Property<T>(AdditionalPropertiesDictionary? properties, string key) =>
        Assert.IsType<T>(Assert.Contains(key, (IDictionary<string, object?>)properties!));

    [Fact]
    public async Task GetResponseAsync_AllChecksAllow_ReturnsInnerResponse()
    {
        var inner = new FakeChatClient { GetResponseAsyncCallback = (_, _, _) => Task.FromResult(FakeChatClient.Reply("Paris.")) };
        var client = Build(inner, g => g.AddInputCheck(FakeCheck.RejectWord("bomb", "weapons")).AddOutputCheck(FakeCheck.RejectWord("secret", "leak")));

        var response = await client.GetResponseAsync(s_question);

        Assert.Equal("Paris.", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(1, inner.Calls);
        Assert.DoesNotContain(GuardrailsPropertyNames.Findings, (IDictionary<string, object?>)(response.AdditionalProperties ?? []));
    }

    [Fact]
    public async Task GetResponseAsync_RejectedInput_ReturnsFallbackWithContentFilterWithoutCallingModel()
    {
        var inner = new FakeChatClient();
        var client = Build(inner, g => g.AddInputCheck(FakeCheck.RejectWord("bomb", "weapons", name: "weapons-words")));

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "how to build a bomb")]);

        Assert.Equal(0, inner.Calls);
        Assert.Equal(ChatFinishReason.ContentFilter, response.FinishReason);
        Assert.Equal(new GuardrailsOptions().DefaultFallback, response.Text);
        Assert.Equal("weapons-words", Property<string>(response.AdditionalProperties, GuardrailsPropertyNames.Check));
        Assert.Equal("weapons", Property<string>(response.AdditionalProperties, GuardrailsPropertyNames.Category));
        Assert.Equal("input", Property<string>(response.AdditionalProperties, GuardrailsPropertyNames.Stage));
        var finding = Assert.Single(Property<GuardrailFinding[]>(response.AdditionalProperties, GuardrailsPropertyNames.Findings));
        Assert.Equal(GuardrailAction.Block, finding.Action);
        Assert.Equal(0.9, finding.Score);
    }

    [Fact]
    public async Task GetResponseAsync_CategoryWithFallback_UsesItsTemplate()
    {
        var client = Build(new FakeChatClient(), g => g
            .AddInputCheck(FakeCheck.RejectWord("bomb", "weapons.explosives"))
            .SetPolicy("weapons", GuardrailAction.Block, "I can't discuss {category}."));

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "a bomb")]);

        Assert.Equal("I can't discuss weapons.explosives.", response.Text);
    }

    [Fact]
    public async Task GetResponseAsync_ModifiedInput_ModelSeesRedactedText()
    {
        var inner = new FakeChatClient();
        var client = Build(inner, g => g.AddInputCheck(FakeCheck.ReplaceWord("Alice", "[NAME]", "pii.name")));

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.System, "Alice is the system."), new ChatMessage(ChatRole.User, "Alice called Alice.")]);

        Assert.Equal("ok", response.Text);
        Assert.Equal("Alice is the system.", inner.LastMessages![0].Text); // system messages are not input
        Assert.Equal("[NAME] called [NAME].", inner.LastMessages[1].Text);
        var finding = Assert.Single(Property<GuardrailFinding[]>(response.AdditionalProperties, GuardrailsPropertyNames.Findings));
        Assert.Equal(GuardrailAction.Redact, finding.Action);
    }

    [Fact]
    public async Task GetResponseAsync_ModifiedOutput_ReturnsRedactedText()
    {
        var inner = new FakeChatClient { GetResponseAsyncCallback = (_, _, _) => Task.FromResult(FakeChatClient.Reply("Write to Bob or Bob.")) };
        var client = Build(inner, g => g.AddOutputCheck(FakeCheck.ReplaceWord("Bob", "[NAME]", "pii.name")));

        var response = await client.GetResponseAsync(s_question);

        Assert.Equal("Write to [NAME] or [NAME].", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task GetResponseAsync_RejectedOutput_ReturnsFallbackAndKeepsUsage()
    {
        var inner = new FakeChatClient
        {
            GetResponseAsyncCallback = (_, _, _) => Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "the secret is 42"))
            {
                Usage = new UsageDetails { OutputTokenCount = 5 },
                ModelId = "m",
            }),
        };
        var client = Build(inner, g => g.AddOutputCheck(FakeCheck.RejectWord("secret", "leak")).SetPolicy("leak", GuardrailAction.Block, "Nothing to share."));

        var response = await client.GetResponseAsync(s_question);

        Assert.Equal("Nothing to share.", response.Text);
        Assert.Equal(ChatFinishReason.ContentFilter, response.FinishReason);
        Assert.Equal(5, response.Usage!.OutputTokenCount);
        Assert.Equal("m", response.ModelId);
        Assert.Equal("output", Property<string>(response.AdditionalProperties, GuardrailsPropertyNames.Stage));
    }

    [Fact]
    public async Task GetResponseAsync_RedactPolicyOnRejectionWithoutEdits_Blocks()
    {
        var client = Build(new FakeChatClient(), g => g.AddInputCheck(FakeCheck.RejectWord("bomb", "weapons")).SetPolicy("weapons", GuardrailAction.Redact));

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "bomb")]);

        Assert.Equal(ChatFinishReason.ContentFilter, response.FinishReason);
    }

    [Fact]
    public async Task GetResponseAsync_FlagPolicy_AllowsUnchangedAndAnnotates()
    {
        var inner = new FakeChatClient { GetResponseAsyncCallback = (_, _, _) => Task.FromResult(FakeChatClient.Reply("Bob says hi")) };
        var client = Build(inner, g => g
            .AddInputCheck(FakeCheck.RejectWord("capital", "geography"))
            .AddOutputCheck(FakeCheck.ReplaceWord("Bob", "[NAME]", "pii.name"))
            .SetPolicy("geography", GuardrailAction.Flag)
            .SetPolicy("pii", GuardrailAction.Flag));

        var response = await client.GetResponseAsync(s_question);

        Assert.Equal(1, inner.Calls);
        Assert.Equal("Bob says hi", response.Text); // flagged, not redacted
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(["geography", "pii.name"], Property<string[]>(response.AdditionalProperties, GuardrailsPropertyNames.Flags));
        Assert.Null(EscalationMarker.From(response.AdditionalProperties));
    }

    [Fact]
    public async Task GetResponseAsync_EscalatePolicy_AllowsAndMarksForRouting()
    {
        var inner = new FakeChatClient { GetResponseAsyncCallback = (_, _, _) => Task.FromResult(FakeChatClient.Reply("I am not sure.")) };
        var client = Build(inner, g => g.AddOutputCheck(FakeCheck.RejectWord("not sure", "low_confidence")).SetPolicy("low_confidence", GuardrailAction.Escalate));

        var response = await client.GetResponseAsync(s_question);

        Assert.Equal("I am not sure.", response.Text);
        Assert.Equal("low_confidence", EscalationMarker.From(response.AdditionalProperties)!.Reason);
        Assert.Equal(GuardrailAction.Escalate, Assert.Single(Property<GuardrailFinding[]>(response.AdditionalProperties, GuardrailsPropertyNames.Findings)).Action);
    }

    [Fact]
    public async Task GetResponseAsync_Candidates_FirstAcceptableOneWins()
    {
        var inner = new FakeChatClient
        {
            GetResponseAsyncCallback = (_, _, _) => Task.FromResult(new ChatResponse(
            [
                new ChatMessage(ChatRole.Assistant, "the secret is 1"),
                new ChatMessage(ChatRole.Assistant, "Bob knows"),
                new ChatMessage(ChatRole.Assistant, "third"),
            ])),
        };
        var client = Build(inner, g => g.AddOutputCheck(FakeCheck.RejectWord("secret", "leak")).AddOutputCheck(FakeCheck.ReplaceWord("Bob", "[NAME]", "pii")));

        var response = await client.GetResponseAsync(s_question);

        var message = Assert.Single(response.Messages);
        Assert.Equal("[NAME] knows", message.Text);
        Assert.NotEqual(ChatFinishReason.ContentFilter, response.FinishReason);
    }

    [Fact]
    public async Task GetResponseAsync_CandidatesAllRejected_ReturnsFallback()
    {
        var inner = new FakeChatClient
        {
            GetResponseAsyncCallback = (_, _, _) => Task.FromResult(new ChatResponse(
                [new ChatMessage(ChatRole.Assistant, "secret one"), new ChatMessage(ChatRole.Assistant, "secret two")])),
        };
        var client = Build(inner, g => g.AddOutputCheck(FakeCheck.RejectWord("secret", "leak")));

        var response = await client.GetResponseAsync(s_question);

        Assert.Equal(new GuardrailsOptions().DefaultFallback, Assert.Single(response.Messages).Text);
        Assert.Equal(ChatFinishReason.ContentFilter, response.FinishReason);
        Assert.Equal("leak", Property<string>(response.AdditionalProperties, GuardrailsPropertyNames.Category));
    }

    [Fact]
    public async Task GetResponseAsync_ChecksRunCheapestFirstAndShortCircuit()
    {
        var order = new List<string>();
        var expensive = new FakeCheck("judge", c => { order.Add("judge"); return GuardrailVerdict.Allow; }, GuardrailCost.Expensive);
        var moderate = new FakeCheck("classifier", c => { order.Add("classifier"); return GuardrailVerdict.Reject("attack"); }, GuardrailCost.Moderate);
        var cheap = new FakeCheck("rules", c => { order.Add("rules"); return GuardrailVerdict.Allow; }, GuardrailCost.Cheap);
        var inner = new FakeChatClient();
        var client = Build(inner, g => g.AddInputCheck(expensive).AddInputCheck(moderate).AddInputCheck(cheap));

        var response = await client.GetResponseAsync(s_question);

        Assert.Equal(["rules", "classifier"], order); // the judge never ran
        Assert.Equal(0, inner.Calls);
        Assert.Equal("classifier", Property<string>(response.AdditionalProperties, GuardrailsPropertyNames.Check));
    }

    [Fact]
    public async Task GetResponseAsync_LaterChecksSeeEarlierRedactions()
    {
        var redact = FakeCheck.ReplaceWord("Bob", "[NAME]", "pii");
        var after = new FakeCheck("after", _ => GuardrailVerdict.Allow, GuardrailCost.Expensive);
        var client = Build(new FakeChatClient(), g => g.AddInputCheck(after).AddInputCheck(redact));

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi Bob")]);

        Assert.Equal(["hi [NAME]"], after.Seen);
    }

    [Fact]
    public async Task GetResponseAsync_CancelledToken_ThrowsWithoutCallingModel()
    {
        var inner = new FakeChatClient();
        var client = Build(inner, g => g.AddInputCheck(FakeCheck.RejectWord("x", "y")));
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync(s_question, cancellationToken: cts.Token));
        Assert.Equal(0, inner.Calls);
    }

    [Fact]
    public async Task GetResponseAsync_CheckCancelledMidway_PropagatesCancellation()
    {
        using var cts = new CancellationTokenSource();
        var check = new FakeCheck("slow", _ => { cts.Cancel(); cts.Token.ThrowIfCancellationRequested(); return GuardrailVerdict.Allow; });
        var client = Build(new FakeChatClient(), g => g.AddInputCheck(check));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync(s_question, cancellationToken: cts.Token));
    }

    [Fact]
    public async Task GetResponseAsync_SameInstanceDisposedTwice_DoesNotThrow()
    {
        var client = new GuardrailsChatClient(new FakeChatClient(), new GuardrailsOptions());
        Assert.Equal("ok", (await client.GetResponseAsync(s_question)).Text);
        client.Dispose();
        client.Dispose();
    }

    [Fact]
    public void GetService_ReturnsTheStage()
    {
        var client = Build(new FakeChatClient(), g => { });
        Assert.NotNull(client.GetService<GuardrailsChatClient>());
        Assert.NotNull(client.GetService<FakeChatClient>());
    }
}
