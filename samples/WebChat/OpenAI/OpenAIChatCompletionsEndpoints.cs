using System.Text.Json;
using LocalLlm.Samples.WebChat.Serving;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.AI;

namespace LocalLlm.Samples.WebChat.OpenAI;

/// <summary>
/// The OpenAI-compatible API over one or several <see cref="IChatClient"/>s: <c>POST /v1/chat/completions</c> (JSON or
/// SSE streaming ending with <c>data: [DONE]</c>; usage, finish_reason, tools/tool_calls, response_format, n, logprobs;
/// <c>model</c> selects a served model) and <c>GET /v1/models</c>. Errors use OpenAI's body
/// <c>{"error":{"message","type","param","code"}}</c>: 400 for a malformed body, a bad field or an option the model
/// refuses (param names the field), 404 for an unknown model or path, 413 for a too-large body, 422 when the model's
/// structured answer failed (<see cref="StructuredOutputException"/>), 429 (<c>Retry-After: 1</c>) when the chat client's
/// queue is full (<see cref="ServerBusyException"/>). Any other exception is a 500 whose message carries the request id
/// that the error log line carries too.
/// </summary>
public static partial class OpenAIChatCompletionsEndpoints
{
    private static readonly byte[] s_done = "data: [DONE]\n\n"u8.ToArray();

    /// <summary>Maps <c>/v1/chat/completions</c>, <c>/v1/models</c> and an OpenAI-shaped 404 for other /v1 paths.</summary>
    /// <param name="endpoints">The app or a route group.</param>
    /// <param name="client">One chat client to serve; null = the <see cref="ServedModels"/> registered in DI, else the <see cref="IChatClient"/>.</param>
    /// <param name="options">Limits; null = defaults.</param>
    /// <returns>The <c>/v1</c> route group, for conventions such as authorization or rate limiting.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoints"/> is null.</exception>
    public static RouteGroupBuilder MapOpenAIChatCompletions(this IEndpointRouteBuilder endpoints, IChatClient? client = null, OpenAIEndpointOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        options ??= new OpenAIEndpointOptions();
        var started = DateTimeOffset.UtcNow;
        ServedModels? fixedModels = client is null ? null : new ServedModels(client, options.ModelId);
        ServedModels Models(HttpContext http) => fixedModels
            ?? http.RequestServices.GetService<ServedModels>()
            ?? new ServedModels(http.RequestServices.GetRequiredService<IChatClient>(), options.ModelId);

        var v1 = endpoints.MapGroup("/v1");
        v1.MapPost("/chat/completions", (HttpContext http) => CompleteAsync(http, Models(http), options));
        v1.MapGet("/models", (HttpContext http) => Results.Bytes(ChatCompletionWriter.Models(Models(http).All, started), "application/json"));
        v1.MapFallback((HttpContext http) => OpenAIError.WriteAsync(http.Response, StatusCodes.Status404NotFound,
            $"{http.Request.Method} {http.Request.Path} is not an endpoint of this server; use POST /v1/chat/completions, POST /v1/embeddings or GET /v1/models.", code: "unknown_url"));
        return v1;
    }

    private static async Task CompleteAsync(HttpContext http, ServedModels models, OpenAIEndpointOptions options)
    {
        try
        {
            var request = await ReadRequestAsync(http, options);
            if (request is null) return;
            var served = models.Find(request.Model);
            if (served is null)
            {
                await OpenAIError.WriteAsync(http.Response, StatusCodes.Status404NotFound,
                    $"The model '{request.Model}' does not exist on this server; GET /v1/models lists {string.Join(", ", models.All.Select(m => $"'{m.Name}'"))}.", "model", "model_not_found");
                return;
            }
            if (request.Stream) await StreamAsync(http, served.Client, request, served.Name);
            else
            {
                var response = await served.Client.GetResponseAsync(request.Messages, request.Options, http.RequestAborted);
                http.Response.ContentType = "application/json";
                await http.Response.Body.WriteAsync(ChatCompletionWriter.Completion(response, served.Name, request.LogProbabilities), http.RequestAborted);
            }
        }
        catch (Exception e) when (!(e is OperationCanceledException && http.RequestAborted.IsCancellationRequested))
        {
            var error = Describe(e, http.TraceIdentifier);
            if (error.Status >= 500) ServerFault(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OpenAIChatCompletionsEndpoints)), http.TraceIdentifier, e);
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
            await OpenAIError.WriteAsync(http.Response, StatusCodes.Status400BadRequest, "The request body is not valid JSON: " + e.Message, code: "invalid_json");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await OpenAIError.WriteAsync(http.Response, StatusCodes.Status413PayloadTooLarge, $"The request body is larger than {options.MaxRequestBodyBytes} bytes.", code: "request_too_large");
        }
        catch (BadHttpRequestException e)
        {
            await OpenAIError.WriteAsync(http.Response, e.StatusCode, "The request body could not be read: " + e.Message, code: "invalid_body");
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
        // The first update is awaited before the status line, so bad options still get a proper 4xx.
        bool more = await updates.MoveNextAsync();
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";

        string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow;
        bool first = true;
        UsageDetails? usage = null;
        GenerationStats? stats = null;
        ChatFinishReason? finish = null;
        for (; more; more = await updates.MoveNextAsync())
        {
            var update = updates.Current;
            id = update.ResponseId ?? id;
            var calls = update.Contents.OfType<FunctionCallContent>().ToList();
            usage = update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details ?? usage;
            stats = update.GetGenerationStats() ?? stats;
            finish = update.FinishReason ?? finish;
            string text = update.Text;
            if (text.Length == 0 && calls.Count == 0 && update.FinishReason is null) continue;
            var logProbs = update.FinishReason is not null && request.LogProbabilities ? LogProbabilities(update) : null;
            await SendAsync(http, ChatCompletionWriter.Chunk(id, created, model, first, text.Length > 0 || first ? text : null, calls, update.FinishReason, logProbs), ct);
            first = false;
        }
        if (request.IncludeUsage && usage is not null) await SendAsync(http, ChatCompletionWriter.UsageChunk(id, created, model, usage, stats, finish), ct);
        await http.Response.Body.WriteAsync(s_done, ct);
        await http.Response.Body.FlushAsync(ct);
    }

    private static IReadOnlyList<double>? LogProbabilities(ChatResponseUpdate update) =>
        update.AdditionalProperties?.TryGetValue(LocalLlmResponseExtensions.LogProbabilitiesKey, out var v) == true ? v as IReadOnlyList<double> : null;

    private static async Task SendAsync(HttpContext http, byte[] json, CancellationToken ct)
    {
        await http.Response.Body.WriteAsync("data: "u8.ToArray(), ct);
        await http.Response.Body.WriteAsync(json, ct);
        await http.Response.Body.WriteAsync("\n\n"u8.ToArray(), ct);
        await http.Response.Body.FlushAsync(ct);
    }

    /// <summary>How an exception from the chat client reaches the caller: the request's faults are 4xx naming the field; the rest is a 500.</summary>
    private static OpenAIRequestException Describe(Exception e, string requestId) => e switch
    {
        // The scheduler's queue is full: refused before generating (a stream's status line waits for admission).
        ServerBusyException => new(e.Message, code: "server_busy", status: StatusCodes.Status429TooManyRequests),
        PromptLengthException => new(e.Message, "messages", "context_length_exceeded"),
        ArgumentException a => new(a.Message, ChatCompletionRequest.FieldOf(a.ParamName), "invalid_value"),
        NotSupportedException => new(e.Message, code: "unsupported_value"),
        // The request was valid, the model's constrained answer was not (cut by max_tokens, or not JSON): not a server fault.
        StructuredOutputException => new(e.Message, "response_format", "invalid_model_output", StatusCodes.Status422UnprocessableEntity),
        _ => new($"The server failed while answering (request id {requestId}); the server log has the details under that id.", code: "server_error", status: StatusCodes.Status500InternalServerError),
    };

    private static void ServerFault(ILogger logger, string requestId, Exception e) => Fault(logger, requestId, e);

    [LoggerMessage(10, LogLevel.Error, "Request {RequestId} failed with a server fault.")]
    private static partial void Fault(ILogger logger, string requestId, Exception exception);
}
