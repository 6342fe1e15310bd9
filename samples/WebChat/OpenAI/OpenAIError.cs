using System.Text.Json;

namespace LocalLlm.Samples.WebChat.OpenAI;

/// <summary>A request the endpoint refuses, with OpenAI's error fields.</summary>
internal sealed class OpenAIRequestException(string message, string? param = null, string? code = null, int status = StatusCodes.Status400BadRequest)
    : Exception(message)
{
    public string? Param { get; } = param;
    public string? Code { get; } = code;
    public int Status { get; } = status;
}

/// <summary>Writes OpenAI's error body: <c>{"error":{"message","type","param","code"}}</c>.</summary>
internal static class OpenAIError
{
    public static string TypeFor(int status) => status switch
    {
        StatusCodes.Status429TooManyRequests => "rate_limit_exceeded",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    public static async Task WriteAsync(HttpResponse response, int status, string message, string? param = null, string? code = null)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        await response.WriteAsync(Json(status, message, param, code), response.HttpContext.RequestAborted);
    }

    public static string Json(int status, string message, string? param = null, string? code = null)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", message);
            w.WriteString("type", TypeFor(status));
            w.WriteString("param", param);
            w.WriteString("code", code);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
