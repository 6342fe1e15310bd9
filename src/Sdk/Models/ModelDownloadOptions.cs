using System.ComponentModel.DataAnnotations;

namespace LocalLlm.Models;

/// <summary>
/// Where and how models are downloaded. Bound from <c>LocalLlm:Download</c>; unset values fall back to the Hugging Face
/// conventions: <c>HF_ENDPOINT</c>, <c>HF_TOKEN</c>, <c>HF_HUB_CACHE</c>, <c>HF_HOME</c>.
/// </summary>
public sealed class ModelDownloadOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string ConfigurationSection = "LocalLlm:Download";

    /// <summary>The documented default endpoint (the Hugging Face hub) used when neither the option nor HF_ENDPOINT is set.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>The hub address; files are fetched from <c>{Endpoint}/{repo}/resolve/{revision}/{path}</c>.</summary>
    /// <value>Null: <c>HF_ENDPOINT</c>, else <see cref="DefaultEndpoint"/>.</value>
    public Uri? Endpoint { get; set; }

    /// <summary>The cache folder. Models go to <c>{CacheDirectory}/localllm/{owner}--{name}/{revision}/{folder}</c>.</summary>
    /// <value>Null: <c>HF_HUB_CACHE</c>, else <c>$HF_HOME/hub</c>, else <c>~/.cache/huggingface/hub</c>.</value>
    public string? CacheDirectory { get; set; }

    /// <summary>The access token sent as <c>Authorization: Bearer</c> to the endpoint's host (never to redirect targets elsewhere).</summary>
    /// <value>Null: <c>HF_TOKEN</c>, else no token.</value>
    public string? Token { get; set; }

    /// <summary>How many files download at once.</summary>
    /// <value>4.</value>
    [Range(1, 32)]
    public int MaxConcurrentFiles { get; set; } = 4;

    /// <summary>Retries per file after a transient failure (connection drop, timeout, 408/429/5xx, wrong hash), with exponential backoff.</summary>
    /// <value>5.</value>
    [Range(0, 100)]
    public int MaxRetries { get; set; } = 5;

    /// <summary>The first retry delay; later ones double, with jitter.</summary>
    /// <value>1 second.</value>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a connection may stay silent (no headers, no bytes) before the attempt is abandoned and retried.</summary>
    /// <value>60 seconds.</value>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The endpoint actually used.</summary>
    /// <returns>The option, else <c>HF_ENDPOINT</c>, else <see cref="DefaultEndpoint"/>.</returns>
    public Uri ResolveEndpoint() => ResolveEndpoint(Environment.GetEnvironmentVariable);

    /// <summary>The cache folder actually used.</summary>
    /// <returns>The option, else <c>HF_HUB_CACHE</c>, else <c>$HF_HOME/hub</c>, else <c>~/.cache/huggingface/hub</c>.</returns>
    public string ResolveCacheDirectory() => ResolveCacheDirectory(Environment.GetEnvironmentVariable);

    /// <summary>The token actually used.</summary>
    /// <returns>The option, else <c>HF_TOKEN</c>, else null.</returns>
    public string? ResolveToken() => ResolveToken(Environment.GetEnvironmentVariable);

    internal Uri ResolveEndpoint(Func<string, string?> env)
    {
        if (Endpoint is not null)
            return Endpoint;
        string? value = env("HF_ENDPOINT");
        if (string.IsNullOrWhiteSpace(value))
            return new Uri(DefaultEndpoint);
        return Uri.TryCreate(value.TrimEnd('/'), UriKind.Absolute, out var uri)
            ? uri
            : throw new InvalidOperationException($"HF_ENDPOINT '{value}' is not an absolute URL; set it like {DefaultEndpoint}.");
    }

    internal string ResolveCacheDirectory(Func<string, string?> env)
    {
        if (!string.IsNullOrWhiteSpace(CacheDirectory))
            return Path.GetFullPath(CacheDirectory);
        if (env("HF_HUB_CACHE") is { Length: > 0 } hubCache)
            return Path.GetFullPath(hubCache);
        if (env("HF_HOME") is { Length: > 0 } home)
            return Path.GetFullPath(Path.Combine(home, "hub"));
        string? xdg = env("XDG_CACHE_HOME");
        string cacheRoot = !string.IsNullOrWhiteSpace(xdg)
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.GetFullPath(Path.Combine(cacheRoot, "huggingface", "hub"));
    }

    internal string? ResolveToken(Func<string, string?> env) =>
        !string.IsNullOrWhiteSpace(Token) ? Token
        : env("HF_TOKEN") is { Length: > 0 } token ? token.Trim()
        : null;
}
