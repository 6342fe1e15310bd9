using System.Text.Json;
using LocalLlm.ModelForge;

namespace LocalLlm.Tests.Chat;

/// <summary>
/// Tool-call text in each model family's format becomes a call only when it names a declared tool; otherwise it is text.
/// The copy model repeats the end of the prompt, so the "model output" is exactly the text the test writes.
/// </summary>
public sealed class ToolCallTests
{
    private static readonly HashSet<string> s_declared = ["get_weather", "get_time"];

    public static TheoryData<string, string, string[]> Formats() => new()
    {
        // Phi-4-mini: a JSON array between <|tool_call|> and <|/tool_call|>, "arguments" as an object.
        { "phi-4-mini", """<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}]<|/tool_call|>""", ["get_weather"] },
        { "phi-4-mini two calls", """<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "arguments": {"city": "Oslo"}}]<|/tool_call|>""", ["get_weather", "get_time"] },
        // Llama 3.1: a bare JSON object with "parameters", or after <|python_tag|>, several separated by ';'.
        { "llama-3.1 bare", """{"name": "get_weather", "parameters": {"city": "Paris"}}""", ["get_weather"] },
        { "llama-3.1 python_tag", """<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": "get_time", "parameters": {"city": "Oslo"}}""", ["get_weather", "get_time"] },
        // Qwen/Hermes, arguments given as a JSON string.
        { "hermes string arguments", """<tool_call>{"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}</tool_call>""", ["get_weather"] },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Parse_DeclaredTool_ReturnsTheCallsWithArguments(string format, string text, string[] names)
    {
        var calls = ToolCallParser.Parse(text, s_declared);

        Assert.True(calls is not null, format);
        Assert.Equal(names, calls.Select(c => c.Name));
        Assert.Equal("Paris", ((JsonElement)calls[0].Arguments!["city"]!).GetString());
        Assert.All(calls, c => Assert.StartsWith("call_", c.CallId, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""<|tool_call|>[{"name": "delete_files", "arguments": {}}]<|/tool_call|>""")]
    [InlineData("""{"name": "Ada Lovelace", "born": 1815}""")]
    [InlineData("""<|python_tag|>{"name": "get_weather", "parameters": {}}; {"name": "rm", "parameters": {}}""")]
    [InlineData("""<tool_call>{"name": "get_weather", "arguments": [1]}</tool_call>""")]
    public void Parse_UndeclaredToolOrMalformedCall_ReturnsNull(string text) =>
        Assert.Null(ToolCallParser.Parse(text, s_declared));

    [Fact]
    public async Task GetResponseAsync_PhiFormatCallToDeclaredTool_FinishesWithToolCalls()
    {
        const string call = """<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}]<|/tool_call|>""";
        using var model = ForgedModelTests.CopyModel(ByteTokenizer.Encode(call).Length);
        using var client = new LocalLlmChatClient(model);

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, call)], new ChatOptions { Tools = [Weather()], MaxOutputTokens = 200 });

        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        var parsed = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", parsed.Name);
        Assert.Equal("", response.Text);
    }

    [Fact]
    public async Task GetResponseAsync_JsonObjectWithNameButNoSuchTool_IsText()
    {
        // A Llama-style answer that is really data: {"name": …} must not become a call to an undeclared tool.
        const string answer = """{"name": "Ada Lovelace", "born": 1815}""";
        using var model = ForgedModelTests.CopyModel(ByteTokenizer.Encode(answer).Length);
        using var client = new LocalLlmChatClient(model);

        var updates = await client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, answer)], new ChatOptions { Tools = [Weather()], MaxOutputTokens = 200 }).ToListAsync();

        Assert.Equal(answer, string.Concat(updates.Select(u => u.Text)));
        Assert.Empty(updates.SelectMany(u => u.Contents).OfType<FunctionCallContent>());
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
    }

    private static AIFunctionDeclaration Weather() =>
        AIFunctionFactory.CreateDeclaration("get_weather", "Current weather in a city.", JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""").RootElement.Clone());
}
