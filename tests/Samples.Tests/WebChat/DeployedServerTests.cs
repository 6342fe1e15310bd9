using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LocalLlm.ModelForge;
using OpenAI;
using OpenAI.Chat;

namespace LocalLlm.Samples.Tests.WebChat;

/// <summary>Two models in one process: "echo" is the demo model (repeats the question's end), "ant" a copy model with lag 4 (repeats "ant\n").</summary>
public sealed class TwoModelWebChatServer() : WebChatServer(
[
    "--WebChat:Models:0=echo",
    "--WebChat:Models:1=ant",
    "--LocalLlm:ant:ModelPath=" + AntFolder,
])
{
    public static string AntFolder => ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Lag = 4 });
}

public sealed class TwoModelServerTests(TwoModelWebChatServer server) : IClassFixture<TwoModelWebChatServer>
{
    private const string Question = "Please echo the end of this: two models share one server and the model field picks one.";

    [Fact]
    public async Task OpenAIClient_ModelFieldSelectsEachServedModel()
    {
        ChatCompletion echo = await server.OpenAIChat("echo").CompleteChatAsync([new UserChatMessage(Question)]);
        ChatCompletion ant = await server.OpenAIChat("ant").CompleteChatAsync([new UserChatMessage(Question)], new ChatCompletionOptions { MaxOutputTokenCount = 8 });

        Assert.Equal(ChatCompletionsTests.Expected(Question), echo.Content[0].Text);
        Assert.Equal("echo", echo.Model);
        Assert.Equal("ant\nant\n", ant.Content[0].Text);
        Assert.Equal("ant", ant.Model);
    }

    [Fact]
    public async Task Models_ListsBothWithPrecisionAndContextLengthFromTheirFolders()
    {
        var models = (await new OpenAIClient(new ApiKeyCredential("x"), server.ClientOptions()).GetOpenAIModelClient().GetModelsAsync()).Value;
        Assert.Equal(["echo", "ant"], models.Select(m => m.Id));

        using var raw = JsonDocument.Parse(await server.Http.GetStringAsync("/v1/models"));
        foreach (var (entry, folder) in raw.RootElement.GetProperty("data").EnumerateArray().Zip([DemoModel.GetOrCreate(), TwoModelWebChatServer.AntFolder]))
        {
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "genai_config.json")))!;
            Assert.Equal(config["model"]!["context_length"]!.GetValue<int>(), entry.GetProperty("context_length").GetInt32());
            Assert.Equal("fp32", entry.GetProperty("precision").GetString()); // forged folders default to fp32 weights
        }
    }

    [Fact]
    public async Task UnknownModel_Is404ModelNotFound()
    {
        var e = await Assert.ThrowsAsync<ClientResultException>(() => server.OpenAIChat("gpt-9").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(404, e.Status);

        using var response = await server.Http.PostAsync("/v1/chat/completions", new StringContent("""{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        var error = await BadInputTests.ErrorAsync(response);
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Contains("'echo', 'ant'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_ScrapeShowsTimeToFirstTokenAndQueueTimeTaggedByModel()
    {
        await server.OpenAIChat("echo").CompleteChatAsync([new UserChatMessage(Question)]);
        await server.OpenAIChat("ant").CompleteChatAsync([new UserChatMessage(Question)], new ChatCompletionOptions { MaxOutputTokenCount = 4 });
        string echoId = Path.GetFileName(DemoModel.GetOrCreate()), antId = Path.GetFileName(TwoModelWebChatServer.AntFolder);

        // The exporter reads the meters when scraped; measurements of a just-finished request are there.
        string metrics = await server.Http.GetStringAsync("/metrics");

        foreach (string id in new[] { echoId, antId })
        {
            Assert.Matches($"gen_ai_server_time_to_first_token_seconds_count{{[^}}]*gen_ai_request_model=\"{id}\"[^}}]*}} [1-9]", metrics);
            Assert.Matches($"localllm_scheduler_queue_time_seconds_count{{[^}}]*gen_ai_request_model=\"{id}\"[^}}]*}} [1-9]", metrics);
        }
    }
}

/// <summary>API keys, a rate limit of 3 requests a minute per key, and CORS for one origin.</summary>
public sealed class SecuredWebChatServer() : WebChatServer(
[
    "--WebChat:ApiKeys:0=key-for-auth-tests",
    "--WebChat:ApiKeys:1=key-for-rate-tests",
    "--WebChat:RateLimitPermits=3",
    "--WebChat:RateLimitWindowSeconds=60",
    "--WebChat:CorsOrigins:0=http://allowed.example",
]);

public sealed class SecuredServerTests(SecuredWebChatServer server) : IClassFixture<SecuredWebChatServer>
{
    private static StringContent Hi() => new("""{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}""", Encoding.UTF8, "application/json");

    [Fact]
    public async Task NoKeyOrWrongKey_Is401_RightKeyAnswers()
    {
        using var none = await server.Http.PostAsync("/v1/chat/completions", Hi());
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("invalid_api_key", (await BadInputTests.ErrorAsync(none)).GetProperty("code").GetString());

        var wrong = await Assert.ThrowsAsync<ClientResultException>(() => server.OpenAIChat(apiKey: "key-for-auth-testz").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, wrong.Status);

        ChatCompletion done = await server.OpenAIChat(apiKey: "key-for-auth-tests").CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 2 });
        Assert.Equal(ChatFinishReason.Length, done.FinishReason);
        // The page, health and metrics stay open; only /v1 needs a key.
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task OverTheLimit_Is429WithRetryAfter()
    {
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (int i = 0; i < 4; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Hi() };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "key-for-rate-tests");
            var response = await server.Http.SendAsync(request);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) refused = response;
            else response.Dispose();
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        using (refused)
        {
            Assert.InRange(int.Parse(refused!.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
            Assert.Equal("rate_limit_exceeded", (await BadInputTests.ErrorAsync(refused)).GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task Cors_ConfiguredOriginAllowed_OtherOriginNot()
    {
        async Task<string?> AllowedOrigin(string origin)
        {
            using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/chat/completions");
            preflight.Headers.Add("Origin", origin);
            preflight.Headers.Add("Access-Control-Request-Method", "POST");
            preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
            using var response = await server.Http.SendAsync(preflight);
            return response.Headers.TryGetValues("Access-Control-Allow-Origin", out var v) ? v.Single() : null;
        }

        Assert.Equal("http://allowed.example", await AllowedOrigin("http://allowed.example"));
        Assert.Null(await AllowedOrigin("http://evil.example"));
    }
}
