using System.ComponentModel.DataAnnotations;

namespace LocalLlm.Samples.WebChat.Serving;

/// <summary>How the server is deployed (configuration section <c>WebChat</c>): models, API keys, rate limit, CORS.</summary>
public sealed class WebChatServerOptions
{
    /// <summary>
    /// Model names to serve; each is an <c>AddKeyedLocalLlm(name)</c> registration with options from <c>LocalLlm:&lt;name&gt;</c>,
    /// and the request's <c>model</c> field selects one (the first when the field is missing). Empty: one model from
    /// the <c>LocalLlm</c> section, named by its folder (or <c>WebChat:ModelId</c>).
    /// </summary>
    /// <value>Default: empty.</value>
    public IList<string> Models { get; } = [];

    /// <summary>API keys; when any is set, /v1 requests need <c>Authorization: Bearer &lt;key&gt;</c> (else 401). Compared in constant time.</summary>
    /// <value>Default: empty (no authentication).</value>
    public IList<string> ApiKeys { get; } = [];

    /// <summary>Requests per key (per client address without keys) in each <see cref="RateLimitWindowSeconds"/>; over it, 429 with Retry-After. 0 = no limit.</summary>
    /// <value>Default: 0.</value>
    [Range(0, int.MaxValue)]
    public int RateLimitPermits { get; set; }

    /// <summary>The rate-limit window.</summary>
    /// <value>Default: 60 seconds.</value>
    [Range(1, 86_400)]
    public int RateLimitWindowSeconds { get; set; } = 60;

    /// <summary>Origins allowed to call the API from a browser (CORS); empty = same origin only.</summary>
    /// <value>Default: empty.</value>
    public IList<string> CorsOrigins { get; } = [];
}
