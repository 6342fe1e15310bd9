using System.Security.Cryptography;
using System.Text;
using LocalLlm.Samples.WebChat.OpenAI;

namespace LocalLlm.Samples.WebChat.Serving;

/// <summary>
/// Optional API keys for /v1: with keys configured, a request needs <c>Authorization: Bearer &lt;key&gt;</c> (the header
/// the OpenAI clients send) or gets 401 in OpenAI's error shape. Keys are compared as SHA-256 digests with
/// <see cref="CryptographicOperations.FixedTimeEquals"/> against every configured key, so the time taken says nothing
/// about how much of a key matched or which key it was.
/// </summary>
internal sealed class ApiKeyAuthentication(IReadOnlyList<string> keys)
{
    /// <summary>The HttpContext.Items key holding the caller's identity for rate limiting ("key:N" or "ip:address").</summary>
    public const string CallerItem = "localllm.caller";

    private readonly byte[][] _digests = [.. keys.Where(k => !string.IsNullOrEmpty(k)).Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k)))];

    public bool Enabled => _digests.Length > 0;

    public async Task InvokeAsync(HttpContext http, Func<Task> next)
    {
        if (!http.Request.Path.StartsWithSegments("/v1") || HttpMethods.IsOptions(http.Request.Method))
        {
            await next();
            return;
        }
        if (!Enabled)
        {
            http.Items[CallerItem] = "ip:" + http.Connection.RemoteIpAddress;
            await next();
            return;
        }
        int match = Match(http.Request.Headers.Authorization.ToString());
        if (match < 0)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            await OpenAIError.WriteAsync(http.Response, StatusCodes.Status401Unauthorized,
                "Missing or incorrect API key. Send 'Authorization: Bearer <key>' with a key from this server's WebChat:ApiKeys.", code: "invalid_api_key");
            return;
        }
        http.Items[CallerItem] = "key:" + match;
        await next();
    }

    /// <summary>The index of the matching key, or -1; every key is compared whatever matched.</summary>
    private int Match(string header)
    {
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return -1;
        byte[] digest = SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()));
        int match = -1;
        for (int i = 0; i < _digests.Length; i++)
            if (CryptographicOperations.FixedTimeEquals(digest, _digests[i])) match = i;
        return match;
    }
}
