using System.Text.Json;
using LocalLlm.ModelForge;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm.Tests.Chat;

/// <summary>
/// Request faults are ArgumentExceptions whose ParamName is the option and whose message says the fix, raised before
/// native code runs (Chat/RequestValidation.cs); what only llguidance can judge is translated from its native error.
/// The copy model echoes the prompt, so a request that passes gives the exact expected text.
/// </summary>
public sealed class RequestValidationTests
{
    private const string Sentence = "Still answering.";

    private static readonly ChatMessage[] s_hello = [new(ChatRole.User, Sentence)];

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    public static TheoryData<string, ChatOptions, string> BadOptions() => new()
    {
        { "seed 2^31", new ChatOptions { Seed = 1L << 31 }, nameof(ChatOptions.Seed) },
        { "seed -2^63", new ChatOptions { Seed = long.MinValue }, nameof(ChatOptions.Seed) },
        { "seed -1", new ChatOptions { Seed = -1 }, nameof(ChatOptions.Seed) },
        { "seed + candidates past int32", new ChatOptions { Seed = int.MaxValue, Temperature = 1 }.WithCandidateCount(2), nameof(ChatOptions.Seed) },
        { "schema type nonsense", new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(Json("""{"type":"nonsense"}""")) }, nameof(ChatOptions.ResponseFormat) },
        { "nested schema type", new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(Json("""{"type":"object","properties":{"a":{"type":["string","blob"]}}}""")) }, nameof(ChatOptions.ResponseFormat) },
        { "schema type not a string", new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(Json("""{"type":12}""")) }, nameof(ChatOptions.ResponseFormat) },
        { "schema keyword malformed", new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(Json("""{"type":"string","minLength":-1}""")) }, nameof(ChatOptions.ResponseFormat) },
        { "schema not an object", new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(Json("[1]")) }, nameof(ChatOptions.ResponseFormat) },
        { "17 stops", new ChatOptions { StopSequences = [.. Enumerable.Range(0, 17).Select(i => "s" + i)] }, nameof(ChatOptions.StopSequences) },
        { "257-char stop", new ChatOptions { StopSequences = [new string('x', 257)] }, nameof(ChatOptions.StopSequences) },
        { "lone surrogate stop", new ChatOptions { StopSequences = ["a\ud800"] }, nameof(ChatOptions.StopSequences) },
        { "instructions NUL", new ChatOptions { Instructions = "be\0nice" }, nameof(ChatOptions.Instructions) },
        { "TopK past vocabulary", new ChatOptions { TopK = 100_000 }, nameof(ChatOptions.TopK) },
        { "regex unclosed", new ChatOptions().WithRegexGrammar("(unclosed"), LocalLlmOptionKeys.RegexGrammar },
        { "regex repeating 99,999 times", new ChatOptions().WithRegexGrammar("x{99999}"), LocalLlmOptionKeys.RegexGrammar },
        { "regex nested counts past the limit", new ChatOptions().WithRegexGrammar("(ab{200}){100}"), LocalLlmOptionKeys.RegexGrammar },
        { "lark terminal repeating 99,999 times", new ChatOptions().WithLarkGrammar("start: /x{99999}/"), LocalLlmOptionKeys.LarkGrammar },
        { "schema pattern repeating 99,999 times", new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(Json("""{"type":"object","properties":{"id":{"type":"string","pattern":"^x{99999}$"}}}""")) }, nameof(ChatOptions.ResponseFormat) },
        { "regex and lark", new ChatOptions().WithRegexGrammar("a+").WithLarkGrammar("start: \"a\""), LocalLlmOptionKeys.LarkGrammar },
        { "17 beams", new ChatOptions { AdditionalProperties = new() { [LocalLlmOptionKeys.NumBeams] = 17 } }, LocalLlmOptionKeys.NumBeams },
        { "beams as a string", new ChatOptions { AdditionalProperties = new() { [LocalLlmOptionKeys.NumBeams] = "four" } }, LocalLlmOptionKeys.NumBeams },
        { "NaN repetition penalty", new ChatOptions { AdditionalProperties = new() { [LocalLlmOptionKeys.RepetitionPenalty] = double.NaN } }, LocalLlmOptionKeys.RepetitionPenalty },
        { "65 candidates", new ChatOptions { AdditionalProperties = new() { [LocalLlmOptionKeys.CandidateCount] = 65 } }, LocalLlmOptionKeys.CandidateCount },
        { "tool name with a space", new ChatOptions { Tools = [Tool("get weather")] }, nameof(ChatOptions.Tools) },
        { "tool declared twice", new ChatOptions { Tools = [Tool("ping"), Tool("ping")] }, nameof(ChatOptions.Tools) },
        { "tool schema type nonsense", new ChatOptions { Tools = [Tool("ping", """{"type":"object","properties":{"x":{"type":"nonsense"}}}""")] }, nameof(ChatOptions.Tools) },
    };

    private static AIFunctionDeclaration Tool(string name, string schema = """{"type":"object","properties":{}}""") =>
        AIFunctionFactory.CreateDeclaration(name, "A tool.", Json(schema));

    [Theory]
    [MemberData(nameof(BadOptions))]
    public async Task GetResponseAsync_BadOption_ThrowsNamingTheOptionAndTheClientStillAnswers(string fault, ChatOptions options, string option)
    {
        using var model = ForgedModelTests.CopyModel(Sentence.Length);
        using var client = new LocalLlmChatClient(model);

        var e = await Assert.ThrowsAnyAsync<ArgumentException>(() => client.GetResponseAsync(s_hello, options));

        Assert.True(option == e.ParamName, $"{fault}: ParamName {e.ParamName}, message {e.Message}");
        Assert.Contains(option.Replace("localllm.", "", StringComparison.Ordinal), e.Message, StringComparison.Ordinal);
        Assert.Equal(Sentence, (await client.GetResponseAsync(s_hello)).Text);
    }

    // Attribute strings cannot hold a lone surrogate (metadata is UTF-8), so the bad character comes as a number.
    [Theory]
    [InlineData(0xD800, "lone UTF-16 surrogate")]
    [InlineData(0xDC00, "lone UTF-16 surrogate")]
    [InlineData(0, "NUL")]
    public async Task GetResponseAsync_BrokenMessageText_ThrowsNamingTheMessage(int bad, string problem)
    {
        string text = "a" + (char)bad + "b";
        using var model = ForgedModelTests.CopyModel(Sentence.Length);
        using var client = new LocalLlmChatClient(model);

        var e = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync([new(ChatRole.User, "fine"), new(ChatRole.User, text)]));

        Assert.Equal("messages", e.ParamName);
        Assert.Contains("messages[1]", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetResponseAsync_SchemaWithPropertyNamedType_IsNotMistakenForAKeyword()
    {
        using var model = ForgedModelTests.CopyModel(8);
        using var client = new LocalLlmChatClient(model);
        var options = new ChatOptions
        {
            ResponseFormat = ChatResponseFormat.ForJsonSchema(Json("""{"type":"object","properties":{"type":{"type":"string","enum":["a","b"]}},"required":["type"],"additionalProperties":false}""")),
            MaxOutputTokens = 64,
        };

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Kind as JSON.")], options);

        Assert.Contains(JsonDocument.Parse(response.Text).RootElement.GetProperty("type").GetString(), new[] { "a", "b" });
    }

    [Fact]
    public async Task GetResponseAsync_LarkGrammarLlguidanceRejects_ArgumentExceptionWrappingTheNativeError()
    {
        using var model = ForgedModelTests.CopyModel(Sentence.Length);
        using var client = new LocalLlmChatClient(model);

        var e = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(s_hello, new ChatOptions().WithLarkGrammar("start: (")));

        Assert.Equal(LocalLlmOptionKeys.LarkGrammar, e.ParamName);
        Assert.IsType<OnnxRuntimeGenAIException>(e.InnerException);
        Assert.Contains("llguidance", e.Message, StringComparison.Ordinal);
        Assert.Equal(Sentence, (await client.GetResponseAsync(s_hello)).Text);
    }

    [Fact]
    public async Task GetResponseAsync_JsonAnswerCutByMaxOutputTokens_ThrowsStructuredOutputException()
    {
        const string json = """{"city":"Oslo","sunny":true}""";
        using var model = ForgedModelTests.CopyModel(json.Length);
        using var client = new LocalLlmChatClient(model);
        var options = new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(Json("""{"type":"object"}""")), MaxOutputTokens = 5 };

        var e = await Assert.ThrowsAsync<StructuredOutputException>(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, json)], options));

        Assert.Contains("MaxOutputTokens (5)", e.Message, StringComparison.Ordinal);
        Assert.Equal(json[..5], e.Output);
        // With room the same request parses.
        options.MaxOutputTokens = 64;
        Assert.Equal(json, (await client.GetResponseAsync([new ChatMessage(ChatRole.User, json)], options)).Text);
    }

    // Counted by hand: nested counts multiply, alternatives take the larger side, escapes and classes are not quantifiers.
    [Theory]
    [InlineData("x{99999}", 99_999)]
    [InlineData("(x{100}){100}", 10_000)]
    [InlineData("(a{2}|b{9}){3}", 27)]
    [InlineData("a{2,7}b{3,}", 7)]
    [InlineData(@"\d{3}-\d{4}", 4)]
    [InlineData(@"\p{L}{3}", 3)]
    [InlineData("[{]{5}", 5)]
    [InlineData(@"[\]{]{6}", 6)]
    [InlineData(@"\{100}", 1)]
    [InlineData("{abc}x{2,z}", 1)]
    [InlineData("((a{10}){10}){10}", 1_000)]
    [InlineData("(a)){9}", 9)]
    public void LargestRepetition_NestedCountsMultiply(string regex, long expected) =>
        Assert.Equal(expected, RequestValidation.LargestRepetition(regex));

    [Fact]
    public async Task GetResponseAsync_RegexAtTheRepetitionLimit_Answers()
    {
        using var model = ForgedModelTests.CopyModel(Sentence.Length);
        using var client = new LocalLlmChatClient(model);

        var response = await client.GetResponseAsync(s_hello, new ChatOptions { MaxOutputTokens = 4 }.WithRegexGrammar("(x{100}){100}"));

        Assert.Equal(4, response.Usage?.OutputTokenCount);
        Assert.Matches("^x+$", response.Text);
    }
}
