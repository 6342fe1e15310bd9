using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace LocalLlm.Samples.WebChat.OpenAI;

/// <summary>OpenAI's response shapes: <c>chat.completion</c> and <c>chat.completion.chunk</c>.</summary>
internal static class ChatCompletionWriter
{
    public static byte[] Completion(ChatResponse response, string model)
    {
        var calls = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
        string text = response.Text;
        return Write(w =>
        {
            Header(w, response.ResponseId, response.CreatedAt, model, "chat.completion");
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            if (text.Length == 0 && calls.Count > 0) w.WriteNull("content");
            else w.WriteString("content", text);
            if (calls.Count > 0) ToolCalls(w, calls, withIndex: false);
            w.WriteEndObject();
            w.WriteNull("logprobs");
            w.WriteString("finish_reason", FinishReason(response.FinishReason));
            w.WriteEndObject();
            w.WriteEndArray();
            if (response.Usage is { } usage) Usage(w, usage);
        });
    }

    /// <summary>One streamed chunk: a delta (role on the first one, text, tool calls) and, on the last, the finish reason.</summary>
    public static byte[] Chunk(string id, DateTimeOffset created, string model, bool first, string? text, IReadOnlyList<FunctionCallContent> calls, ChatFinishReason? finish) =>
        Write(w =>
        {
            Header(w, id, created, model, "chat.completion.chunk");
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("delta");
            if (first) w.WriteString("role", "assistant");
            if (text is not null) w.WriteString("content", text);
            if (calls.Count > 0) ToolCalls(w, calls, withIndex: true);
            w.WriteEndObject();
            w.WriteNull("logprobs");
            if (finish is { } f) w.WriteString("finish_reason", FinishReason(f));
            else w.WriteNull("finish_reason");
            w.WriteEndObject();
            w.WriteEndArray();
        });

    /// <summary>The usage chunk sent last when the request set <c>stream_options.include_usage</c>.</summary>
    public static byte[] UsageChunk(string id, DateTimeOffset created, string model, UsageDetails usage) =>
        Write(w =>
        {
            Header(w, id, created, model, "chat.completion.chunk");
            w.WriteStartArray("choices");
            w.WriteEndArray();
            Usage(w, usage);
        });

    public static byte[] Models(string model, DateTimeOffset created) =>
        Write(w =>
        {
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            w.WriteStartObject();
            w.WriteString("id", model);
            w.WriteString("object", "model");
            w.WriteNumber("created", created.ToUnixTimeSeconds());
            w.WriteString("owned_by", "localllm");
            w.WriteEndObject();
            w.WriteEndArray();
        });

    public static string FinishReason(ChatFinishReason? reason) =>
        reason == ChatFinishReason.Length ? "length"
        : reason == ChatFinishReason.ToolCalls ? "tool_calls"
        : reason == ChatFinishReason.ContentFilter ? "content_filter"
        : "stop";

    private static void Header(Utf8JsonWriter w, string? id, DateTimeOffset? created, string model, string type)
    {
        w.WriteString("id", id ?? "chatcmpl-" + Guid.NewGuid().ToString("N"));
        w.WriteString("object", type);
        w.WriteNumber("created", (created ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds());
        w.WriteString("model", model);
    }

    private static void ToolCalls(Utf8JsonWriter w, IReadOnlyList<FunctionCallContent> calls, bool withIndex)
    {
        w.WriteStartArray("tool_calls");
        for (int i = 0; i < calls.Count; i++)
        {
            w.WriteStartObject();
            if (withIndex) w.WriteNumber("index", i);
            w.WriteString("id", calls[i].CallId);
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", calls[i].Name);
            w.WriteString("arguments", JsonSerializer.Serialize(calls[i].Arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions));
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void Usage(Utf8JsonWriter w, UsageDetails usage)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", usage.InputTokenCount ?? 0);
        w.WriteNumber("completion_tokens", usage.OutputTokenCount ?? 0);
        w.WriteNumber("total_tokens", usage.TotalTokenCount ?? (usage.InputTokenCount ?? 0) + (usage.OutputTokenCount ?? 0));
        w.WriteEndObject();
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
