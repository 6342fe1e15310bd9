using LocalLlm.Samples.WebChat.Health;
using LocalLlm.Samples.WebChat.OpenAI;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace LocalLlm.Samples.WebChat;

/// <summary>Builds the web chat app; tests and other hosts call <see cref="Build"/> with their own arguments.</summary>
public static class WebChatApp
{
    /// <summary>
    /// Builds the app: <c>AddLocalLlm</c> from the <c>LocalLlm</c> section (<c>--model &lt;id|folder&gt;</c> sets
    /// <c>LocalLlm:Model</c>; with neither Model nor ModelPath the demo model is forged),
    /// the OpenAI-compatible endpoints with the <c>WebChat</c> section's limits, <c>/health/live</c>, <c>/health/ready</c>
    /// and the chat page. Listens on 127.0.0.1:5080 unless <c>--urls</c> says otherwise.
    /// </summary>
    /// <param name="args">Command-line arguments, e.g. <c>--urls http://127.0.0.1:0 --model phi-3.5-mini</c>.</param>
    /// <param name="contentRoot">Where appsettings.json and wwwroot live; null = the current directory.</param>
    /// <returns>The app, not yet started.</returns>
    public static WebApplication Build(string[] args, string? contentRoot = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = contentRoot });
        builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--model"] = "LocalLlm:Model" });

        builder.Services.AddLocalLlm(o =>
        {
            if (string.IsNullOrWhiteSpace(o.Model) && string.IsNullOrWhiteSpace(o.ModelPath)) o.ModelPath = DemoModel.GetOrCreate();
        });
        builder.Services.AddOptions<OpenAIEndpointOptions>().BindConfiguration("WebChat");
        builder.Services.AddSingleton<ModelWarmup>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ModelWarmup>());
        builder.Services.AddHealthChecks().AddCheck<ModelReadyCheck>("model", tags: ["ready"]);

        var app = builder.Build();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        app.MapOpenAIChatCompletions(options: app.Services.GetRequiredService<IOptions<OpenAIEndpointOptions>>().Value);
        return app;
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
