using System.Text.Json;
using LocalLlm.ModelForge;

namespace LocalLlm.Tests.Chat;

/// <summary>The client on ModelForge folders whose greedy output is known exactly, at every precision and attention kind.</summary>
public sealed class ForgedModelTests
{
    /// <summary>Tokens the ChatML template adds after the user's text: &lt;|im_end|&gt; \n &lt;|im_start|&gt; assistant \n.</summary>
    private const int TemplateTail = 13;

    private const string Sentence = "The answer is 42, as always.";

    public static TheoryData<WeightPrecision, AttentionKind> Variants()
    {
        var data = new TheoryData<WeightPrecision, AttentionKind>();
        foreach (var p in Enum.GetValues<WeightPrecision>())
            foreach (var a in Enum.GetValues<AttentionKind>())
                data.Add(p, a);
        return data;
    }

    internal static LocalModel CopyModel(int replyTokens, WeightPrecision precision = WeightPrecision.Fp32, AttentionKind attention = AttentionKind.Plain) =>
        LocalModel.Load(ForgedModels.GetOrCreate(new ForgeOptions
        {
            Design = ModelDesign.Copy, Precision = precision, Attention = attention, Lag = TemplateTail + replyTokens,
        }), new LocalModelOptions { ExecutionProvider = ExecutionProvider.Cpu });

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task GetStreamingResponseAsync_CopyDesign_StreamsExactlyTheDesignedText(WeightPrecision precision, AttentionKind attention)
    {
        using var model = CopyModel(ByteTokenizer.Encode(Sentence).Length, precision, attention);
        using var client = new LocalLlmChatClient(model);

        var updates = await client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Say it back: " + Sentence)]).ToListAsync();

        Assert.Equal(Sentence, string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
        var usage = updates[^1].Contents.OfType<UsageContent>().Single().Details;
        Assert.Equal(Sentence.Length + 1, usage.OutputTokenCount); // the bytes, then the copied <|im_end|>
        Assert.Equal(model.Info.SharesKvBuffer, attention == AttentionKind.GroupQueryAttention);
        Assert.Equal(precision switch
        {
            WeightPrecision.Fp32 => ModelPrecision.Fp32,
            WeightPrecision.Fp16 => ModelPrecision.Fp16,
            WeightPrecision.Int8 => ModelPrecision.Int8,
            _ => ModelPrecision.Int4,
        }, model.Info.Precision);
    }

    [Theory]
    [InlineData(WeightPrecision.Fp32)]
    [InlineData(WeightPrecision.Int4)]
    public async Task GetResponseAsync_PromptLongerThanSeveralPrefillChunks_StillExact(WeightPrecision precision)
    {
        using var model = CopyModel(ByteTokenizer.Encode(Sentence).Length, precision, AttentionKind.GroupQueryAttention);
        using var client = new LocalLlmChatClient(model);
        string filler = string.Concat(Enumerable.Repeat("filler ", 90)); // 630 bytes: the GQA prompt is appended in three chunks

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, filler + "Say it back: " + Sentence)]);

        Assert.True(response.Usage!.InputTokenCount > 2 * Prefill.Chunk);
        Assert.Equal(Sentence, response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_StopStringAcrossTokens_NeverLeaksAnyPrefix()
    {
        using var model = CopyModel(Sentence.Length);
        using var client = new LocalLlmChatClient(model);
        var options = new ChatOptions { StopSequences = ["42, as"] };

        var updates = await client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, Sentence)], options).ToListAsync();

        Assert.Equal("The answer is ", string.Concat(updates.Select(u => u.Text)));
        Assert.All(updates, u => Assert.DoesNotContain("4", u.Text, StringComparison.Ordinal));
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
    }

    [Fact]
    public async Task GetResponseAsync_StopStringThatNeverCompletes_EmitsTheHeldTextAtTheEnd()
    {
        using var model = CopyModel(Sentence.Length);
        using var client = new LocalLlmChatClient(model);
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, Sentence)], new ChatOptions { StopSequences = ["always!"] });
        Assert.Equal(Sentence, response.Text); // "always" was held back, then released when "!" did not follow
    }

    [Fact]
    public async Task GetResponseAsync_MaxOutputTokens_CutsExactlyWithLength()
    {
        using var model = CopyModel(Sentence.Length);
        using var client = new LocalLlmChatClient(model);
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, Sentence)], new ChatOptions { MaxOutputTokens = 10 });
        Assert.Equal(Sentence[..10], response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(10, response.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task GetResponseAsync_JsonSchema_ParsesAndValidates()
    {
        using var model = CopyModel(8);
        using var client = new LocalLlmChatClient(model);
        using var schema = JsonDocument.Parse("""
            {"type":"object","properties":{"city":{"type":"string","enum":["Paris","Rome","Oslo"]},"sunny":{"type":"boolean"}},
             "required":["city","sunny"],"additionalProperties":false}
            """);
        var options = new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(schema.RootElement, "weather"), MaxOutputTokens = 64 };

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Weather in Oslo as JSON.")], options);

        using var doc = JsonDocument.Parse(response.Text);
        Assert.Contains(doc.RootElement.GetProperty("city").GetString(), new[] { "Paris", "Rome", "Oslo" });
        Assert.True(doc.RootElement.GetProperty("sunny").ValueKind is JsonValueKind.True or JsonValueKind.False);
        Assert.Equal(2, doc.RootElement.EnumerateObject().Count());
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task UseFunctionInvocation_CopyDesignEmitsCall_FunctionRunsAndResultReachesSecondTurn()
    {
        const string call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
        const string result = "Sunny and 21 degrees in Paris today, with a light breeze from the west and no rain expected at all.";
        int callTokens = ByteTokenizer.Encode(call).Length;
        using var model = CopyModel(callTokens);
        string? cityAsked = null;
        var tool = AIFunctionFactory.Create((string city) => { cityAsked = city; return result; }, "get_weather", "Current weather for a city.");

        var renderedPrompts = new List<string>();
        using var local = new LocalLlmChatClient(model, new LocalLlmChatClientOptions());
        using var client = new ChatClientBuilder(local)
            .UseFunctionInvocation()
            .Use((messages, options, next, ct) => { renderedPrompts.Add(PromptRenderer.MessagesJson(messages)); return next(messages, options, ct); })
            .Build();

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Use this call: " + call)],
            new ChatOptions { Tools = [tool], MaxOutputTokens = 120 });

        Assert.Equal("Paris", cityAsked);
        Assert.Equal(2, renderedPrompts.Count);
        Assert.Contains(result, renderedPrompts[1], StringComparison.Ordinal);
        // The second turn's copy reply is a window of the rendered tool result: the result reached the prompt.
        Assert.Contains("no rain expected at all.", response.Text, StringComparison.Ordinal);
        var first = response.Messages.First(m => m.Contents.OfType<FunctionCallContent>().Any());
        Assert.Equal("get_weather", first.Contents.OfType<FunctionCallContent>().Single().Name);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ToolCall_IsNotShownAsTextAndFinishesWithToolCalls()
    {
        const string call = "<tool_call>\n{\"name\": \"ping\", \"arguments\": {}}\n</tool_call>";
        using var model = CopyModel(ByteTokenizer.Encode(call).Length);
        using var client = new LocalLlmChatClient(model);
        var tool = AIFunctionFactory.Create(() => "pong", "ping");

        var updates = await client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, call)], new ChatOptions { Tools = [tool] }).ToListAsync();

        Assert.Equal("", string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(ChatFinishReason.ToolCalls, updates[^1].FinishReason);
        Assert.Equal("ping", updates.SelectMany(u => u.Contents).OfType<FunctionCallContent>().Single().Name);
    }

    [Fact]
    public async Task GetResponseAsync_ToolModeRequired_GrammarForcesAWellFormedCall()
    {
        using var model = CopyModel(6);
        using var client = new LocalLlmChatClient(model);
        var tool = AIFunctionFactory.Create(() => "pong", "ping", "Checks the line.");

        // The copy design would echo "hello!"; the grammar makes it call the tool instead.
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hello!")],
            new ChatOptions { Tools = [tool], ToolMode = ChatToolMode.RequireSpecific("ping"), MaxOutputTokens = 64 });

        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("ping", call.Name);
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
    }

    [Fact]
    public async Task GetResponseAsync_ToolResultAndCall_RenderThroughTheModelsTemplate()
    {
        using var model = CopyModel(4);
        string? prompt = null;
        using var client = new LocalLlmChatClient(model, new LocalLlmChatClientOptions
        {
            PromptFormatter = (messages, _) => prompt = model.ApplyChatTemplate(null, PromptRenderer.MessagesJson(messages), null),
        });
        ChatMessage[] history =
        [
            new(ChatRole.User, "weather?"),
            new(ChatRole.Assistant, [new FunctionCallContent("c1", "get_weather", new Dictionary<string, object?> { ["city"] = "Rome" })]),
            new(ChatRole.Tool, [new FunctionResultContent("c1", "cloudy")]),
        ];
        await client.GetResponseAsync(history, new ChatOptions { MaxOutputTokens = 1 });
        Assert.Contains("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}\n</tool_call>", prompt, StringComparison.Ordinal);
        Assert.Contains("<tool_response>\ncloudy\n</tool_response>", prompt, StringComparison.Ordinal);
    }
}
