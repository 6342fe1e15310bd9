using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace LocalLlm.Samples.WebChat.OpenAI;

/// <summary>
/// <c>POST /v1/embeddings</c> over the registered <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> (LocalLlm.Embeddings'
/// built-in all-MiniLM-L6-v2 unless the app registers another): <c>input</c> is a string or an array of strings,
/// <c>encoding_format</c> <c>float</c> (default) or <c>base64</c> (little-endian float32, what the official OpenAI clients
/// ask for), <c>dimensions</c> must equal the model's. Bad input is a 400 in OpenAI's error shape, naming the field.
/// </summary>
public static class OpenAIEmbeddingsEndpoints
{
    /// <summary>The most inputs one request may carry.</summary>
    public const int MaxInputs = 2048;

    /// <summary>Maps <c>POST /embeddings</c> on the group (the app maps it under <c>/v1</c>).</summary>
    /// <param name="v1">The <c>/v1</c> route group.</param>
    /// <returns>The endpoint.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="v1"/> is null.</exception>
    public static IEndpointConventionBuilder MapOpenAIEmbeddings(this RouteGroupBuilder v1)
    {
        ArgumentNullException.ThrowIfNull(v1);
        return v1.MapPost("/embeddings", EmbedAsync);
    }

    private static async Task EmbedAsync(HttpContext http)
    {
        var generator = http.RequestServices.GetService<IEmbeddingGenerator<string, Embedding<float>>>();
        if (generator is null)
        {
            await OpenAIError.WriteAsync(http.Response, StatusCodes.Status404NotFound, "This server has no embedding model; register one with AddLocalLlmEmbeddings().", code: "unknown_url");
            return;
        }
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(http.Request.Body, default, http.RequestAborted);
        }
        catch (JsonException e)
        {
            await OpenAIError.WriteAsync(http.Response, StatusCodes.Status400BadRequest, $"The body is not valid JSON ({e.Message}).", code: "invalid_json");
            return;
        }
        using (document)
        {
            var (inputs, base64, dimensions, error, param) = Parse(document.RootElement);
            if (error is not null)
            {
                await OpenAIError.WriteAsync(http.Response, StatusCodes.Status400BadRequest, error, param, "invalid_value");
                return;
            }
            GeneratedEmbeddings<Embedding<float>> result;
            try
            {
                result = await generator.GenerateAsync(inputs!, new EmbeddingGenerationOptions { Dimensions = dimensions }, http.RequestAborted);
            }
            catch (ArgumentException e)
            {
                await OpenAIError.WriteAsync(http.Response, StatusCodes.Status400BadRequest, e.Message, e.ParamName == "options" ? "dimensions" : "input", "invalid_value");
                return;
            }
            string model = generator.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelId ?? "embeddings";
            http.Response.ContentType = "application/json";
            await using var json = new Utf8JsonWriter(http.Response.Body);
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            for (int i = 0; i < result.Count; i++)
            {
                json.WriteStartObject();
                json.WriteString("object", "embedding");
                json.WriteNumber("index", i);
                if (base64)
                {
                    json.WriteString("embedding", Convert.ToBase64String(MemoryMarshal.AsBytes(result[i].Vector.Span)));
                }
                else
                {
                    json.WriteStartArray("embedding");
                    foreach (float v in result[i].Vector.Span) json.WriteNumberValue(v);
                    json.WriteEndArray();
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteString("model", model);
            json.WriteStartObject("usage");
            json.WriteNumber("prompt_tokens", result.Usage?.InputTokenCount ?? 0);
            json.WriteNumber("total_tokens", result.Usage?.TotalTokenCount ?? 0);
            json.WriteEndObject();
            json.WriteEndObject();
        }
    }

    private static (string[]? Inputs, bool Base64, int? Dimensions, string? Error, string? Param) Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
            return (null, false, null, "The body must be a JSON object with an \"input\" field.", null);
        if (!root.TryGetProperty("input", out var input))
            return (null, false, null, "\"input\" is required: a string or an array of strings.", "input");
        string[] inputs;
        try
        {
            inputs = input.ValueKind switch
            {
                JsonValueKind.String => [input.GetString()!],
                JsonValueKind.Array when input.GetArrayLength() is > 0 and <= MaxInputs && input.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
                    => [.. input.EnumerateArray().Select(e => e.GetString()!)],
                _ => null!,
            };
        }
        catch (InvalidOperationException) // a lone surrogate or invalid UTF-8 in a string
        {
            return (null, false, null, "\"input\" holds text that is not valid Unicode (a lone surrogate or invalid UTF-8); send well-formed UTF-8.", "input");
        }
        if (inputs is null)
            return (null, false, null, $"\"input\" must be a string or an array of 1 to {MaxInputs} strings (token-id arrays are not supported).", "input");
        bool base64 = false;
        if (root.TryGetProperty("encoding_format", out var format))
        {
            if (format.ValueKind != JsonValueKind.String || format.GetString() is not ("float" or "base64"))
                return (null, false, null, "\"encoding_format\" must be \"float\" or \"base64\".", "encoding_format");
            base64 = format.GetString() == "base64";
        }
        int? dimensions = null;
        if (root.TryGetProperty("dimensions", out var d) && d.ValueKind != JsonValueKind.Null)
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int value) || value < 1)
                return (null, false, null, "\"dimensions\" must be a positive integer.", "dimensions");
            dimensions = value;
        }
        return (inputs, base64, dimensions, null, null);
    }
}
