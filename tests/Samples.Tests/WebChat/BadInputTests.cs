using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using LocalLlm.Samples.WebChat;
using LocalLlm.Samples.WebChat.OpenAI;

namespace LocalLlm.Samples.Tests.WebChat;

/// <summary>
/// Bad input is an OpenAI-shaped 4xx naming the field. The first five cases are the five 500s a bad-input campaign found
/// (issue 16): an invalid JSON schema, seeds outside int32, a lone surrogate and invalid UTF-8 in content.
/// </summary>
public sealed class BadInputTests(WebChatServer server) : IClassFixture<WebChatServer>
{
    private static byte[] Body(string json) => Encoding.UTF8.GetBytes(json);

    public static TheoryData<string, byte[], string> FormerServerErrors()
    {
        const string hi = """{"messages":[{"role":"user","content":"hi"}]""";
        // Raw bytes: 0xFF never occurs in UTF-8, so this content is invalid UTF-8 on the wire.
        byte[] invalidUtf8 = [.. Body("""{"messages":[{"role":"user","content":"caf"""), 0xFF, 0xFE, .. Body("\"}]}")];
        return new()
        {
            { "schema type nonsense", Body(hi + ""","response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"nonsense"}}}}"""), "response_format" },
            { "seed 2^31", Body(hi + ""","seed":2147483648}"""), "seed" },
            { "seed -2^63", Body(hi + ""","seed":-9223372036854775808}"""), "seed" },
            { "lone surrogate", Body("""{"messages":[{"role":"user","content":"\ud800"}]}"""), "messages[0].content" },
            { "invalid UTF-8", invalidUtf8, "messages[0].content" },
        };
    }

    [Theory]
    [MemberData(nameof(FormerServerErrors))]
    public async Task FormerServerError_Is400NamingTheField(string fault, byte[] body, string param)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");
        using var response = await server.Http.PostAsync("/v1/chat/completions", content);

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{fault}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var error = await ErrorAsync(response);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        string message = error.GetProperty("message").GetString()!;
        Assert.Contains(param == "response_format" ? "nonsense" : param == "seed" ? "Seed" : param, message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"top_logprobs":2,"logprobs":true}""", "top_logprobs")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"logit_bias":{"42":5}}""", "logit_bias")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"temperature":1e39}""", "temperature")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"stop":["a\ud800"]}""", "stop[0]")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]}""", "tools[0].function.parameters")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"bad name"}}]}""", "tools")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"n":100}""", "n")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"localllm_preset":"wild"}""", "localllm_preset")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"top_k":100000}""", "top_k")]
    public async Task UnsupportedOrOutOfRange_Is400NamingTheField(string body, string param)
    {
        using var response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal(param, (await ErrorAsync(response)).GetProperty("param").GetString());
    }

    [Fact]
    public async Task JsonAnswerCutByMaxTokens_Is422NotA500()
    {
        const string body = """{"messages":[{"role":"user","content":"{\"city\":\"Oslo\",\"sunny\":true}"}],"max_tokens":3,"response_format":{"type":"json_object"}}""";
        using var response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Equal("invalid_model_output", error.GetProperty("code").GetString());
        Assert.Contains("MaxOutputTokens (3)", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownPath_Is404InOpenAIShape()
    {
        using var response = await server.Http.GetAsync("/v1/embeddings");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("unknown_url", (await ErrorAsync(response)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task LogProbsAndN_MappedToTheSdk()
    {
        const string question = "Please echo the end of this: log-probabilities and three candidates from one request.";
        string body = JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = question } }, n = 3, temperature = 0.5, seed = 7, logprobs = true });
        using var response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var choices = doc.RootElement.GetProperty("choices");
        Assert.Equal(3, choices.GetArrayLength());
        Assert.Equal([0, 1, 2], choices.EnumerateArray().Select(c => c.GetProperty("index").GetInt32()));
        // The demo model's designed answer is far more likely than anything else: every candidate is it.
        Assert.All(choices.EnumerateArray(), c => Assert.Equal(ChatCompletionsTests.Expected(question), c.GetProperty("message").GetProperty("content").GetString()));
        var logProbs = choices[0].GetProperty("logprobs").GetProperty("content");
        Assert.True(logProbs.GetArrayLength() > 0);
        Assert.All(logProbs.EnumerateArray(), t => Assert.InRange(t.GetProperty("logprob").GetDouble(), double.NegativeInfinity, 0));
    }

    [Fact]
    public async Task RealServerFault_Is500WithAnIdThatTheLogCarries()
    {
        // A chat client that fails for a reason that is not the request's: the one way to get a 500.
        var logs = new ListLoggerProvider();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders().AddProvider(logs);
        await using var app = builder.Build();
        app.MapOpenAIChatCompletions(new FailingChatClient());
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = app.GetListeningUri() };

        using var response = await http.PostAsync("/v1/chat/completions", new StringContent("""{"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        string id = System.Text.RegularExpressions.Regex.Match(error.GetProperty("message").GetString()!, @"request id (\S+)\)").Groups[1].Value;
        Assert.NotEmpty(id);
        Assert.Contains(logs.Lines, l => l.Contains(id, StringComparison.Ordinal) && l.Contains("disk on fire", StringComparison.Ordinal));
        Assert.DoesNotContain("disk on fire", error.GetProperty("message").GetString(), StringComparison.Ordinal); // details stay in the log
        await app.StopAsync();
    }

    internal static async Task<JsonElement> ErrorAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").Clone();
    }

    private sealed class FailingChatClient : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new IOException("disk on fire");

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new IOException("disk on fire");

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose() { }
    }

    /// <summary>Collects formatted log lines with their exception text.</summary>
    private sealed class ListLoggerProvider : ILoggerProvider
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

        public IReadOnlyCollection<string> Lines => _lines;

        public ILogger CreateLogger(string categoryName) => new Logger(_lines);

        public void Dispose() { }

        private sealed class Logger(System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{logLevel} {formatter(state, exception)} {exception}");
        }
    }
}
