using System.Threading.RateLimiting;
using LocalLlm.Samples.WebChat.Health;
using LocalLlm.Samples.WebChat.OpenAI;
using LocalLlm.Samples.WebChat.Serving;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace LocalLlm.Samples.WebChat;

/// <summary>Builds the web chat app; tests and other hosts call <see cref="Build"/> with their own arguments.</summary>
public static class WebChatApp
{
    private const string RateLimitPolicy = "per-caller";

    /// <summary>
    /// Builds the app: the models of <c>WebChat:Models</c> (each <c>AddKeyedLocalLlm(name)</c>, options from
    /// <c>LocalLlm:&lt;name&gt;</c>) or one <c>AddLocalLlm</c> from the <c>LocalLlm</c> section (<c>--model &lt;id|folder&gt;</c>
    /// sets <c>LocalLlm:Model</c>; a model with neither Model nor ModelPath is the forged demo model); the
    /// OpenAI-compatible endpoints with the <c>WebChat</c> section's limits, optional API keys, per-caller rate limit and
    /// CORS; <c>/metrics</c> (Prometheus, the LocalLlm meter); <c>/health/live</c>, <c>/health/ready</c> and the chat
    /// page. Listens on 127.0.0.1:5080 unless <c>--urls</c> says otherwise.
    /// </summary>
    /// <param name="args">Command-line arguments, e.g. <c>--urls http://127.0.0.1:0 --model phi-3.5-mini</c>.</param>
    /// <param name="contentRoot">Where appsettings.json and wwwroot live; null = the current directory.</param>
    /// <returns>The app, not yet started.</returns>
    public static WebApplication Build(string[] args, string? contentRoot = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = contentRoot });
        builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--model"] = "LocalLlm:Model" });
        var server = builder.Configuration.GetSection("WebChat").Get<WebChatServerOptions>() ?? new WebChatServerOptions();

        static void DemoIfUnset(LocalLlmOptions o)
        {
            if (string.IsNullOrWhiteSpace(o.Model) && string.IsNullOrWhiteSpace(o.ModelPath)) o.ModelPath = DemoModel.GetOrCreate();
        }
        if (server.Models.Count == 0) builder.Services.AddLocalLlm(DemoIfUnset);
        else foreach (string name in server.Models) builder.Services.AddKeyedLocalLlm(name, DemoIfUnset);
        builder.Services.AddLocalLlmEmbeddings(); // /v1/embeddings; the encoder loads on the first request
        builder.Services.AddOptions<OpenAIEndpointOptions>().BindConfiguration("WebChat");
        builder.Services.AddSingleton(sp => server.Models.Count == 0
            ? new ServedModels(sp.GetRequiredService<Microsoft.Extensions.AI.IChatClient>(), sp.GetRequiredService<IOptions<OpenAIEndpointOptions>>().Value.ModelId)
            : new ServedModels(sp, server.Models));
        builder.Services.AddSingleton<ModelWarmup>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ModelWarmup>());
        builder.Services.AddHealthChecks().AddCheck<ModelReadyCheck>("model", tags: ["ready"]);
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(LocalLlmTelemetry.Name).AddPrometheusExporter());
        if (server.CorsOrigins.Count > 0)
            builder.Services.AddCors(o => o.AddDefaultPolicy(p => p.WithOrigins([.. server.CorsOrigins]).AllowAnyHeader().AllowAnyMethod().WithExposedHeaders("Retry-After")));
        if (server.RateLimitPermits > 0) builder.Services.AddRateLimiter(o => RateLimit(o, server));

        var app = builder.Build();
        if (server.CorsOrigins.Count > 0) app.UseCors();
        var keys = new ApiKeyAuthentication([.. server.ApiKeys]);
        app.Use((http, next) => keys.InvokeAsync(http, () => next(http)));
        if (server.RateLimitPermits > 0) app.UseRateLimiter();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        app.MapPrometheusScrapingEndpoint("/metrics");
        var v1 = app.MapOpenAIChatCompletions(options: app.Services.GetRequiredService<IOptions<OpenAIEndpointOptions>>().Value);
        v1.MapOpenAIEmbeddings();
        if (server.RateLimitPermits > 0) v1.RequireRateLimiting(RateLimitPolicy);
        return app;
    }

    /// <summary>A fixed window per caller (API key, else client address); a refused request gets 429, Retry-After and OpenAI's error body.</summary>
    private static void RateLimit(RateLimiterOptions o, WebChatServerOptions server)
    {
        o.AddPolicy(RateLimitPolicy, http => RateLimitPartition.GetFixedWindowLimiter(
            http.Items[ApiKeyAuthentication.CallerItem] as string ?? "anonymous",
            _ => new FixedWindowRateLimiterOptions { PermitLimit = server.RateLimitPermits, Window = TimeSpan.FromSeconds(server.RateLimitWindowSeconds), QueueLimit = 0 }));
        o.OnRejected = async (context, cancellationToken) =>
        {
            int seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retry) ? Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)) : server.RateLimitWindowSeconds;
            context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await OpenAIError.WriteAsync(context.HttpContext.Response, StatusCodes.Status429TooManyRequests,
                $"Rate limit reached: {server.RateLimitPermits} requests per {server.RateLimitWindowSeconds} s for this key. Retry after {seconds} s.", code: "rate_limit_exceeded");
        };
    }

    /// <summary>The first address the started server listens on (useful with port 0).</summary>
    /// <exception cref="InvalidOperationException">The app has not started.</exception>
    public static Uri GetListeningUri(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        string? address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        return address is null ? throw new InvalidOperationException("The server has no address yet; await app.StartAsync() first.") : new Uri(address);
    }
}
