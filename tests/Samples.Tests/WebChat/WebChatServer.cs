using LocalLlm.Samples.WebChat;
using LocalLlm.Samples.WebChat.Serving;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI;
using OpenAI.Chat;

namespace LocalLlm.Samples.Tests.WebChat;

/// <summary>The real web chat app on Kestrel, 127.0.0.1, a free port; the demo model unless arguments say otherwise.</summary>
public class WebChatServer : IAsyncLifetime
{
    private readonly string[] _extraArgs;

    public WebChatServer() : this([]) { }

    protected WebChatServer(string[] extraArgs) => _extraArgs = extraArgs;

    public WebApplication App { get; private set; } = null!;

    public Uri BaseUri { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        string[] args = ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", .. _extraArgs];
        App = WebChatApp.Build(args, Path.Combine(RepoPaths.Root, "samples", "WebChat"));
        await App.StartAsync();
        BaseUri = App.GetListeningUri();
        Http = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(60) };
        // Ready once the model is loaded (it loads in the background as the app starts).
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await Http.GetAsync("/health/ready")).StatusCode != System.Net.HttpStatusCode.OK)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("/health/ready did not turn healthy within 60 s.");
            await Task.Delay(50);
        }
    }

    /// <summary>The official OpenAI client pointed at this server (no retries, so a 429 surfaces); null model = the default served model.</summary>
    public ChatClient OpenAIChat(string? model = null, string apiKey = "not-needed") =>
        new(model ?? App.Services.GetRequiredService<ServedModels>().All[0].Name, new ApiKeyCredential(apiKey), ClientOptions());

    public OpenAIClientOptions ClientOptions() =>
        new() { Endpoint = new Uri(BaseUri, "/v1"), RetryPolicy = new ClientRetryPolicy(maxRetries: 0), NetworkTimeout = TimeSpan.FromSeconds(60) };

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (App is not null)
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }
}
