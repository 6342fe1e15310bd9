using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using LocalLlm.Samples.Tests.Chat;
using OpenAI;
using OpenAI.Chat;

namespace LocalLlm.Samples.Tests.WebChat;

/// <summary>The OpenAI-compatible API through the official OpenAI .NET client, against the demo model (answers known exactly).</summary>
public sealed class OpenAIApiTests(WebChatServer server) : IClassFixture<WebChatServer>
{
    private const string Question = "Please echo the end of this: a local model answers over the OpenAI protocol, offline.";

    [Fact]
    public async Task CompleteChat_DemoModel_ReturnsDesignedTextAndUsage()
    {
        ChatCompletion completion = await server.OpenAIChat().CompleteChatAsync([new UserChatMessage(Question)]);

        Assert.Equal(ChatCompletionsTests.Expected(Question), completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(DemoModel.EchoTokens + 1, completion.Usage.OutputTokenCount); // the echoed tokens and <|im_end|>
        Assert.Equal(Encoding.UTF8.GetByteCount(Question) + 19, completion.Usage.InputTokenCount); // ChatML adds 19 tokens
        Assert.StartsWith("copy-", completion.Model, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompleteChatStreaming_DemoModel_StreamsDesignedTextThenFinishAndUsage()
    {
        var text = new StringBuilder();
        int contentUpdates = 0;
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in server.OpenAIChat().CompleteChatStreamingAsync([new UserChatMessage(Question)], new ChatCompletionOptions()))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
                contentUpdates++;
            }
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(ChatCompletionsTests.Expected(Question), text.ToString());
        Assert.True(contentUpdates > 1, $"expected several streamed pieces, got {contentUpdates}");
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.Equal(DemoModel.EchoTokens + 1, usage.OutputTokenCount);
    }

    [Fact]
    public async Task GetModels_ListsTheLoadedModel()
    {
        var models = (await new OpenAIClient(new ApiKeyCredential("x"), server.ClientOptions()).GetOpenAIModelClient().GetModelsAsync()).Value;

        var model = Assert.Single(models);
        Assert.Equal(Path.GetFileName(DemoModel.GetOrCreate()), model.Id);
        Assert.Equal("localllm", model.OwnedBy);
    }

    [Fact]
    public async Task ToolCall_RoundTrip_CallParsedThenResultAnswered()
    {
        // The demo model repeats the last 64 tokens of the message, so a call written at its end comes back as a call.
        const string call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
        var tool = ChatTool.CreateFunctionTool("get_weather", "Current weather in a city.",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));
        var options = new ChatCompletionOptions { Tools = { tool } };
        List<OpenAI.Chat.ChatMessage> messages = [new UserChatMessage("What is the weather in Paris? " + call)];

        ChatCompletion first = await server.OpenAIChat().CompleteChatAsync(messages, options);

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var toolCall = Assert.Single(first.ToolCalls);
        Assert.Equal("get_weather", toolCall.FunctionName);
        Assert.Equal("Paris", JsonDocument.Parse(toolCall.FunctionArguments).RootElement.GetProperty("city").GetString());
        Assert.False(string.IsNullOrEmpty(toolCall.Id));

        const string result = """{"city": "Paris", "temperature_c": 21, "sky": "clear", "wind_kmh": 9}""";
        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(toolCall.Id, result));
        ChatCompletion second = await server.OpenAIChat().CompleteChatAsync(messages, options);

        // The tool result renders as "<tool_response>\n{result}\n</tool_response>"; the model repeats its last 64 tokens.
        string wrapped = $"<tool_response>\n{result}\n</tool_response>";
        Assert.Equal(wrapped[^DemoModel.EchoTokens..], second.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, second.FinishReason);
    }

    [Fact]
    public async Task BadOption_Returns400WithOpenAIErrorBody()
    {
        var e = await Assert.ThrowsAsync<ClientResultException>(() =>
            server.OpenAIChat().CompleteChatAsync([new UserChatMessage(Question)], new ChatCompletionOptions { Temperature = -1 }));
        Assert.Equal(400, e.Status);
        Assert.Contains("Temperature", e.Message, StringComparison.Ordinal);
    }

    private static readonly BinaryData s_png = BinaryData.FromBytes(Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CompleteChat_ImageForTextModel_Returns400NamingMessageModelAndFix(bool stream)
    {
        // The official client sends the image as an image_url part holding a data URL; the demo model reads text only.
        ChatMessage[] messages = [new UserChatMessage(ChatMessageContentPart.CreateTextPart("What is in it?"), ChatMessageContentPart.CreateImagePart(s_png, "image/png"))];

        var e = await Assert.ThrowsAsync<ClientResultException>(async () =>
        {
            if (!stream) await server.OpenAIChat().CompleteChatAsync(messages);
            else await foreach (var _ in server.OpenAIChat().CompleteChatStreamingAsync(messages)) { }
        });

        Assert.Equal(400, e.Status);
        var error = JsonDocument.Parse(e.GetRawResponse()!.Content).RootElement.GetProperty("error");
        Assert.Equal("messages", error.GetProperty("param").GetString());
        string message = error.GetProperty("message").GetString()!;
        Assert.Contains("messages[0] holds an image (image/png), but model 'copy-", message, StringComparison.Ordinal);
        Assert.Contains("reads text only: it has no vision processor", message, StringComparison.Ordinal);
        Assert.Contains("Remove it, or describe it in text.", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type":"image_url","image_url":{"url":"data:text/plain;base64,aGk="}}""", "data URL of text/plain")]
    [InlineData("""{"type":"image_url","image_url":{"url":"data:image/png;base64,@@"}}""", "not a valid base64 data URL")]
    [InlineData("""{"type":"image_url","image_url":{"url":"ftp://host/cat.png"}}""", "must be a data URL")]
    [InlineData("""{"type":"image_url"}""", "must be a data URL")]
    [InlineData("""{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}""", "use 'text' or 'image_url' parts")]
    public async Task MalformedImagePart_Returns400NamingThePart(string part, string problem)
    {
        string body = $$"""{"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{{part}}]}]}""";
        using var response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Equal("messages[0].content[1]", error.GetProperty("param").GetString());
        Assert.Contains(problem, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{not json", null)]
    [InlineData("""{"model":"x"}""", "messages")]
    [InlineData("""{"messages":[{"role":"wizard","content":"hi"}]}""", "messages[0].role")]
    [InlineData("""{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", "messages[0].content[0]")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"max_tokens":"many"}""", "max_tokens")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"n":0}""", "n")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"yaml"}}""", "response_format.type")]
    public async Task MalformedRequest_Returns400NamingTheField(string body, string? param)
    {
        using var response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.True(error.TryGetProperty("code", out _));
    }

    [Fact]
    public async Task TooManyMessages_Returns400OpenAIErrorNamingMessages()
    {
        string many = JsonSerializer.Serialize(new { messages = Enumerable.Repeat(new { role = "user", content = "hi" }, 257) });
        using var response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(many, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Contains("at most 256", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]  // Content-Length says it up front
    [InlineData(false)] // chunked: Kestrel's body limit stops the read
    public async Task TooLargeBody_Returns413OpenAIError(bool withContentLength)
    {
        byte[] large = JsonSerializer.SerializeToUtf8Bytes(new { messages = new[] { new { role = "user", content = new string('a', 1_100_000) } } });
        HttpContent content = withContentLength ? new ByteArrayContent(large) : new StreamContent(new NoLengthStream(large));
        content.Headers.ContentType = new("application/json");
        using var response = await server.Http.PostAsync("/v1/chat/completions", content);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("request_too_large", error.GetProperty("code").GetString());
        Assert.Contains("1048576 bytes", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    /// <summary>A body whose length HttpClient cannot know, so it is sent chunked.</summary>
    private sealed class NoLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }

    [Fact]
    public async Task RawStream_IsServerSentEventsEndingWithDone()
    {
        string body = JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = Question } }, stream = true, stream_options = new { include_usage = true } });
        using var response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        string sse = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        Assert.Equal("data: [DONE]", events[^1]);
        var usageChunk = JsonDocument.Parse(events[^2]["data: ".Length..]).RootElement;
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        Assert.Equal(DemoModel.EchoTokens + 1, usageChunk.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var finishChunk = JsonDocument.Parse(events[^3]["data: ".Length..]).RootElement;
        Assert.Equal("stop", finishChunk.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Health_LiveAndReady_Ok()
    {
        using var live = await server.Http.GetAsync("/health/live");
        using var ready = await server.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync());
    }

    private static async Task<JsonElement> ErrorAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
    }
}

/// <summary>Expected designed answers of the demo model with no system prompt.</summary>
internal static class ChatCompletionsTests
{
    public static string Expected(string question) => ChatSampleTests.ExpectedDemoAnswer(question, system: null);
}
