using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.AI;

namespace LocalLlm.Samples.WebChat.OpenAI;

/// <summary>
/// The OpenAI-compatible API over any <see cref="IChatClient"/>: <c>POST /v1/chat/completions</c> (JSON or SSE
/// streaming ending with <c>data: [DONE]</c>; usage, finish_reason, tools/tool_calls, response_format) and
/// <c>GET /v1/models</c>. Errors use OpenAI's body <c>{"error":{"message","type","param","code"}}</c>: 400 for bad
/// requests and options, 413 for a too-large body, 429 (<c>Retry-After: 1</c>) when the chat client throws
/// <see cref="ServerBusyException"/> because its queue is full (<c>LocalLlm:MaxQueueLength</c>).
/// </summary>
public static class OpenAIChatCompletionsEndpoints
{
    private static readonly byte[] s_done = "data: [DONE]\n\n"u8.ToArray();

    /// <summary>Maps <c>/v1/chat/completions</c> and <c>/v1/models</c>.</summary>
    /// <param name="endpoints">The app or a route group.</param>
    /// <param name="client">The chat client to serve; null = the <see cref="IChatClient"/> registered in DI.</param>
    /// <param name="options">Limits; null = defaults.</param>
    /// <returns>The <c>/v1</c> route group, for conventions such as authorization.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoints"/> is null.</exception>
    public static RouteGroupBuilder MapOpenAIChatCompletions(this IEndpointRouteBuilder endpoints, IChatClient? client = null, OpenAIEndpointOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        options ??= new OpenAIEndpointOptions();
        var started = DateTimeOffset.UtcNow;

        var v1 = endpoints.MapGroup("/v1");
        v1.MapPost("/chat/completions", (HttpContext http) => CompleteAsync(http, client ?? http.RequestServices.GetRequiredService<IChatClient>(), options));
        v1.MapGet("/models", (HttpContext http) =>
        {
            var chat = client ?? http.RequestServices.GetRequiredService<IChatClient>();
            return Results.Bytes(ChatCompletionWriter.Models(ModelId(chat, options), started), "application/json");
        });
        return v1;
    }

    private static string ModelId(IChatClient client, OpenAIEndpointOptions options) =>
        options.ModelId ?? client.GetService<ChatClientMetadata>()?.DefaultModelId ?? "local";

    private static async Task CompleteAsync(HttpContext http, IChatClient client, OpenAIEndpointOptions options)
    {
        var request = await ReadRequestAsync(http, options);
        if (request is null) return;

        try
        {
            string model = ModelId(client, options);
            if (request.Stream) await StreamAsync(http, client, request, model);
            else
            {
                var response = await client.GetResponseAsync(request.Messages, request.Options, http.RequestAborted);
                http.Response.ContentType = "application/json";
                await http.Response.Body.WriteAsync(ChatCompletionWriter.Completion(response, model), http.RequestAborted);
            }
        }
        catch (Exception e) when (Describe(e, http.RequestAborted) is { } error)
        {
            if (!http.Response.HasStarted)
            {
                if (error.Status == StatusCodes.Status429TooManyRequests) http.Response.Headers.RetryAfter = "1";
                await OpenAIError.WriteAsync(http.Response, error.Status, error.Message, error.Param, error.Code);
            }
            else
            {
                // Mid-stream: an error event, then the stream ends (the status line has gone already).
                await http.Response.WriteAsync($"data: {OpenAIError.Json(error.Status, error.Message, error.Param, error.Code)}\n\n", http.RequestAborted);
            }
        }
    }

    private static async Task<ChatCompletionRequest?> ReadRequestAsync(HttpContext http, OpenAIEndpointOptions options)
    {
        if (http.Request.ContentLength > options.MaxRequestBodyBytes)
        {
            await OpenAIError.WriteAsync(http.Response, StatusCodes.Status413PayloadTooLarge, $"The request body is larger than {options.MaxRequestBodyBytes} bytes.", code: "request_too_large");
            return null;
        }
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = options.MaxRequestBodyBytes;
        try
        {
            using var body = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            return ChatCompletionRequest.Parse(body.RootElement, options);
        }
        catch (JsonException e)
        {
            await OpenAIError.WriteAsync(http.Response, StatusCodes.Status400BadRequest, "The request body is not valid JSON: " + e.Message);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await OpenAIError.WriteAsync(http.Response, StatusCodes.Status413PayloadTooLarge, $"The request body is larger than {options.MaxRequestBodyBytes} bytes.", code: "request_too_large");
        }
        catch (OpenAIRequestException e)
        {
            await OpenAIError.WriteAsync(http.Response, e.Status, e.Message, e.Param, e.Code);
        }
        return null;
    }

    private static async Task StreamAsync(HttpContext http, IChatClient client, ChatCompletionRequest request, string model)
    {
        var ct = http.RequestAborted;
        await using var updates = client.GetStreamingResponseAsync(request.Messages, request.Options, ct).GetAsyncEnumerator(ct);
        // The first update is awaited before the status line, so bad options still get a proper 400.
        bool more = await updates.MoveNextAsync();
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";

        string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow;
        bool first = true;
        UsageDetails? usage = null;
        for (; more; more = await updates.MoveNextAsync())
        {
            var update = updates.Current;
            id = update.ResponseId ?? id;
            var calls = update.Contents.OfType<FunctionCallContent>().ToList();
            usage = update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details ?? usage;
            string text = update.Text;
            if (text.Length == 0 && calls.Count == 0 && update.FinishReason is null) continue;
            await SendAsync(http, ChatCompletionWriter.Chunk(id, created, model, first, text.Length > 0 || first ? text : null, calls, update.FinishReason), ct);
            first = false;
        }
        if (request.IncludeUsage && usage is not null) await SendAsync(http, ChatCompletionWriter.UsageChunk(id, created, model, usage), ct);
        await http.Response.Body.WriteAsync(s_done, ct);
        await http.Response.Body.FlushAsync(ct);
    }

    private static async Task SendAsync(HttpContext http, byte[] json, CancellationToken ct)
    {
        await http.Response.Body.WriteAsync("data: "u8.ToArray(), ct);
        await http.Response.Body.WriteAsync(json, ct);
        await http.Response.Body.WriteAsync("\n\n"u8.ToArray(), ct);
        await http.Response.Body.FlushAsync(ct);
    }

    /// <summary>How an exception from the chat client reaches the caller; null = let it propagate (or the client left).</summary>
    private static OpenAIRequestException? Describe(Exception e, CancellationToken requestAborted) => e switch
    {
        OperationCanceledException when requestAborted.IsCancellationRequested => null,
        // The scheduler's queue is full: refused before generating (a stream's status line waits for admission).
        ServerBusyException => new(e.Message, code: "server_busy", status: StatusCodes.Status429TooManyRequests),
        PromptLengthException => new(e.Message, "messages", "context_length_exceeded"),
        ArgumentException or NotSupportedException => new(e.Message),
        StructuredOutputException => new(e.Message, code: "invalid_model_output", status: StatusCodes.Status500InternalServerError),
        _ => null,
    };
}
