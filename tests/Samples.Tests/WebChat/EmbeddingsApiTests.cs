using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI.Embeddings;

namespace LocalLlm.Samples.Tests.WebChat;

/// <summary>/v1/embeddings through the official OpenAI .NET client, against vectors made by the SentenceTransformers package's own encoder.</summary>
public sealed class EmbeddingsApiTests(WebChatServer server) : IClassFixture<WebChatServer>
{
    private static readonly (string Text, float[] Vector)[] s_reference = Reference();

    private static (string, float[])[] Reference()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "tests", "Sdk.Embeddings.Tests", "Reference", "all-MiniLM-L6-v2.reference.json")));
        return [.. doc.RootElement.GetProperty("rows").EnumerateArray().Select(r => (r.GetProperty("text").GetString()!, r.GetProperty("vector").EnumerateArray().Select(v => v.GetSingle()).ToArray()))];
    }

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb);
    }

    [Fact]
    public async Task GenerateEmbeddings_OfficialClient_MatchesTheReferenceEncoder()
    {
        var client = new EmbeddingClient("all-MiniLM-L6-v2", new ApiKeyCredential("not-needed"), server.ClientOptions());

        OpenAIEmbeddingCollection result = (await client.GenerateEmbeddingsAsync(s_reference.Select(r => r.Text))).Value;

        Assert.Equal(s_reference.Length, result.Count);
        for (int i = 0; i < s_reference.Length; i++)
        {
            Assert.Equal(i, result[i].Index);
            Assert.True(Cosine(result[i].ToFloats().Span, s_reference[i].Vector) >= 0.999, $"row {i}: cosine {Cosine(result[i].ToFloats().Span, s_reference[i].Vector)}");
        }
        Assert.True(result.Usage.InputTokenCount > s_reference.Length);
    }

    [Theory]
    [InlineData("""{"input": 42}""", "input")]
    [InlineData("""{"input": []}""", "input")]
    [InlineData("""{"input": "\ud800"}""", "input")]
    [InlineData("""{"input": "hi", "encoding_format": "int8"}""", "encoding_format")]
    [InlineData("""{"input": "hi", "dimensions": 7}""", "dimensions")]
    [InlineData("""{"nothing": true}""", "input")]
    public async Task Post_BadInput_Is400NamingTheField(string body, string param)
    {
        using var response = await server.Http.PostAsync("/v1/embeddings", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(param, error.RootElement.GetProperty("error").GetProperty("param").GetString());
    }
}
