using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LocalLlm.Routing.Tests.Remote;

/// <summary>
/// A minimal real OpenAI-compatible server (Kestrel on 127.0.0.1, a free port): POST /v1/chat/completions,
/// JSON and SSE streaming, over any IChatClient. Plays the remote large tier (vLLM, Ollama, ...) in tests.
/// </summary>
internal sealed class OpenAICompatibleHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;

    private OpenAICompatibleHost(WebApplication app, Uri endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    /// <summary>The API base address, ending in /v1.</summary>
    public Uri Endpoint { get; }

    public int Requests => _requests;

    public static async Task<OpenAICompatibleHost> StartAsync(IChatClient model)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromSeconds(2));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        OpenAICompatibleHost? host = null;
        app.MapPost("/v1/chat/completions", async (HttpContext http) =>
        {
            Interlocked.Increment(ref host!._requests);
            JsonNode body = (await JsonNode.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted))!;
            string modelName = body["model"]?.GetValue<string>() ?? "model";
            List<ChatMessage> messages = [.. body["messages"]!.AsArray().Select(m => new ChatMessage(new ChatRole(m!["role"]!.GetValue<string>()), TextOf(m["content"])))];
            var options = new ChatOptions { MaxOutputTokens = body["max_completion_tokens"]?.GetValue<int>() ?? body["max_tokens"]?.GetValue<int>() };
            string id = $"chatcmpl-{Guid.NewGuid():N}";
            long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            if (body["stream"]?.GetValue<bool>() == true)
            {
                http.Response.ContentType = "text/event-stream";
                UsageDetails? usage = null;
                string? finish = null;
                await foreach (ChatResponseUpdate u in model.GetStreamingResponseAsync(messages, options, http.RequestAborted))
                {
                    foreach (UsageContent c in u.Contents.OfType<UsageContent>())
                        (usage ??= new()).Add(c.Details);
                    finish ??= u.FinishReason?.Value;
                    if (u.Text.Length > 0)
                        await SendAsync(http, Chunk(id, created, modelName, new JsonObject { ["content"] = u.Text }, null, null));
                }
                await SendAsync(http, Chunk(id, created, modelName, new JsonObject(), finish ?? "stop", null));
                if (usage is not null)
                    await SendAsync(http, Chunk(id, created, modelName, null, null, usage));
                await http.Response.WriteAsync("data: [DONE]\n\n", http.RequestAborted);
                return Results.Empty;
            }
            ChatResponse response = await model.GetResponseAsync(messages, options, http.RequestAborted);
            var json = new JsonObject
            {
                ["id"] = id,
                ["object"] = "chat.completion",
                ["created"] = created,
                ["model"] = modelName,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = response.Text },
                    ["finish_reason"] = response.FinishReason?.Value ?? "stop",
                }),
            };
            if (response.Usage is { } usageDetails)
                json["usage"] = Usage(usageDetails);
            return Results.Text(json.ToJsonString(), "application/json");
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        host = new OpenAICompatibleHost(app, new Uri(address.TrimEnd('/') + "/v1"));
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static string TextOf(JsonNode? content) => content switch
    {
        JsonValue v => v.GetValue<string>(),
        JsonArray parts => string.Concat(parts.Select(p => p?["text"]?.GetValue<string>() ?? "")),
        _ => "",
    };

    private static JsonObject Usage(UsageDetails u) => new()
    {
        ["prompt_tokens"] = u.InputTokenCount ?? 0,
        ["completion_tokens"] = u.OutputTokenCount ?? 0,
        ["total_tokens"] = u.TotalTokenCount ?? ((u.InputTokenCount ?? 0) + (u.OutputTokenCount ?? 0)),
    };

    private static JsonObject Chunk(string id, long created, string model, JsonObject? delta, string? finish, UsageDetails? usage)
    {
        var chunk = new JsonObject
        {
            ["id"] = id,
            ["object"] = "chat.completion.chunk",
            ["created"] = created,
            ["model"] = model,
            ["choices"] = delta is null ? new JsonArray() : new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }),
        };
        if (usage is not null)
            chunk["usage"] = Usage(usage);
        return chunk;
    }

    private static async Task SendAsync(HttpContext http, JsonObject chunk)
    {
        await http.Response.WriteAsync($"data: {chunk.ToJsonString()}\n\n", http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }
}
