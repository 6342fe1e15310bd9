using System.Net;
using System.Text;
using System.Text.Json;
using LocalLlm.ModelForge;

namespace LocalLlm.Samples.Tests.WebChat;

/// <summary>
/// A copy model with LoRA inputs (reply = the last 5 bytes of the question) and one adapter from configuration
/// (<c>LocalLlm:Adapters:short</c>: the last 3 bytes), so both answers are known exactly.
/// </summary>
public sealed class AdapterWebChatServer() : WebChatServer(
[
    "--LocalLlm:ModelPath=" + ForgedModels.GetOrCreate(Forged),
    "--LocalLlm:Adapters:short=" + ShortAdapter(),
])
{
    internal static ForgeOptions Forged { get; } = new() { Design = ModelDesign.Copy, Lag = 13 + 5, LoraRank = 1 };

    private static string ShortAdapter()
    {
        string path = Path.Combine(Path.GetTempPath(), $"localllm-web-short-{Environment.ProcessId}.onnx_adapter");
        Forge.WriteCopyAdapter(Forged, 13 + 3, path);
        return path;
    }
}

public sealed class AdapterServerTests(AdapterWebChatServer server) : IClassFixture<AdapterWebChatServer>
{
    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string adapterField, bool stream = false)
    {
        string body = $$"""{"messages":[{"role":"user","content":"Say hello world"}],"max_tokens":20{{adapterField}}{{(stream ? ",\"stream\":true" : "")}}}""";
        using var response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        if (stream && response.IsSuccessStatusCode)
        {
            var content = new StringBuilder();
            foreach (string line in text.Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal)))
            {
                var choices = JsonDocument.Parse(line[6..]).RootElement.GetProperty("choices");
                if (choices.GetArrayLength() > 0 && choices[0].GetProperty("delta").TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String) content.Append(c.GetString());
            }
            return (response.StatusCode, JsonDocument.Parse(JsonSerializer.Serialize(new { content = content.ToString() })).RootElement);
        }
        return (response.StatusCode, JsonDocument.Parse(text).RootElement);
    }

    private static string Content(JsonElement body) => body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;

    [Fact]
    public async Task ChatCompletions_LocalllmAdapter_AnswersUnderTheAdapterAndWithoutIt()
    {
        var (baseStatus, baseBody) = await PostAsync("");
        var (status, body) = await PostAsync(""","localllm_adapter":"short" """);
        var (streamStatus, streamed) = await PostAsync(""","localllm_adapter":"short" """, stream: true);

        Assert.Equal(HttpStatusCode.OK, baseStatus);
        Assert.Equal("world", Content(baseBody));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("rld", Content(body));
        Assert.Equal(HttpStatusCode.OK, streamStatus);
        Assert.Equal("rld", streamed.GetProperty("content").GetString());
    }

    [Theory]
    [InlineData(""","localllm_adapter":"sql" """, "Unknown adapter 'sql'")]
    [InlineData(""","localllm_adapter":"" """, "is empty")]
    [InlineData(""","localllm_adapter":7 """, "must be a string")]
    [InlineData(""","localllm_adapter":"no spaces please" """, "not a valid adapter name")]
    public async Task ChatCompletions_BadAdapter_Returns400NamingTheField(string field, string problem)
    {
        var (status, body) = await PostAsync(field);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = body.GetProperty("error");
        Assert.Equal("localllm_adapter", error.GetProperty("param").GetString());
        Assert.Contains(problem, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
