using System.Buffers;
using System.Text.Json;
using LocalLlm.Samples.WebChat.Serving;
using Microsoft.Extensions.AI;

namespace LocalLlm.Samples.WebChat.OpenAI;

/// <summary>OpenAI's response shapes: <c>chat.completion</c> and <c>chat.completion.chunk</c>.</summary>
internal static class ChatCompletionWriter
{
    /// <summary>A <c>chat.completion</c>: one choice per assistant message (n candidates are n messages), log-probabilities when asked.</summary>
    public static byte[] Completion(ChatResponse response, string model, bool logProbabilities)
    {
        var answers = response.Messages.Where(m => m.Role == ChatRole.Assistant).ToList();
        if (answers.Count == 0) answers.Add(new ChatMessage(ChatRole.Assistant, response.Text));
        var logProbs = logProbabilities ? response.GetTokenLogProbabilities() : null;
        // Several candidates come back as one message each; tool calls and text of one answer may span messages.
        bool oneAnswer = answers.Count == 1 || answers.Any(m => m.Contents.OfType<FunctionCallContent>().Any());
        return Write(w =>
        {
            Header(w, response.ResponseId, response.CreatedAt, model, "chat.completion");
            w.WriteStartArray("choices");
            var choices = oneAnswer ? [answers.SelectMany(m => m.Contents).ToList()] : answers.Select(m => m.Contents.ToList()).ToList();
            for (int i = 0; i < choices.Count; i++)
            {
                var calls = choices[i].OfType<FunctionCallContent>().ToList();
                string text = string.Concat(choices[i].OfType<TextContent>().Select(t => t.Text));
                w.WriteStartObject();
                w.WriteNumber("index", i);
                w.WriteStartObject("message");
                w.WriteString("role", "assistant");
                if (text.Length == 0 && calls.Count > 0) w.WriteNull("content");
                else w.WriteString("content", text);
                if (calls.Count > 0) ToolCalls(w, calls, withIndex: false);
                w.WriteEndObject();
                LogProbs(w, i == 0 ? logProbs : null);
                w.WriteString("finish_reason", FinishReason(response.FinishReason));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (response.Usage is { } usage) Usage(w, usage);
        });
    }

    /// <summary>One streamed chunk: a delta (role on the first one, text, tool calls) and, on the last, the finish reason (and log-probabilities when asked).</summary>
    public static byte[] Chunk(string id, DateTimeOffset created, string model, bool first, string? text, IReadOnlyList<FunctionCallContent> calls, ChatFinishReason? finish, IReadOnlyList<double>? logProbs = null) =>
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
            LogProbs(w, logProbs);
            if (finish is { } f) w.WriteString("finish_reason", FinishReason(f));
            else w.WriteNull("finish_reason");
            w.WriteEndObject();
            w.WriteEndArray();
        });

    /// <summary>
    /// The usage chunk sent last when the request set <c>stream_options.include_usage</c>; it also carries what LocalLlm
    /// measured (<c>localllm</c>: time to first token, decode rate, reused prompt tokens, queue time, finish reason),
    /// which OpenAI clients ignore and the chat page shows.
    /// </summary>
    public static byte[] UsageChunk(string id, DateTimeOffset created, string model, UsageDetails usage, GenerationStats? stats = null, ChatFinishReason? finish = null) =>
        Write(w =>
        {
            Header(w, id, created, model, "chat.completion.chunk");
            w.WriteStartArray("choices");
            w.WriteEndArray();
            Usage(w, usage);
            if (stats is not null)
            {
                w.WriteStartObject("localllm");
                w.WriteNumber("time_to_first_token_ms", Math.Round(stats.TimeToFirstToken.TotalMilliseconds, 1));
                w.WriteNumber("decode_tokens_per_second", Math.Round(stats.DecodeTokensPerSecond, 1));
                w.WriteNumber("prefill_tokens_per_second", Math.Round(stats.PrefillTokensPerSecond, 1));
                w.WriteNumber("prompt_tokens", stats.PromptTokens);
                w.WriteNumber("reused_prompt_tokens", stats.ReusedPromptTokens);
                w.WriteNumber("output_tokens", stats.OutputTokens);
                w.WriteNumber("queue_ms", Math.Round(stats.QueueTime.TotalMilliseconds, 1));
                w.WriteString("finish_reason", FinishReason(finish));
                w.WriteEndObject();
            }
        });

    /// <summary><c>/v1/models</c>: every served model, with LocalLlm's precision and context length for local ones.</summary>
    public static byte[] Models(IReadOnlyList<ServedModel> models, DateTimeOffset created) =>
        Write(w =>
        {
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var m in models)
            {
                w.WriteStartObject();
                w.WriteString("id", m.Name);
                w.WriteString("object", "model");
                w.WriteNumber("created", created.ToUnixTimeSeconds());
                w.WriteString("owned_by", "localllm");
                if (m.Info is { } info)
                {
                    w.WriteString("precision", info.Precision.ToString().ToLowerInvariant());
                    w.WriteNumber("context_length", info.ContextLength);
                    w.WriteString("folder_id", info.Id);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });

    /// <summary>OpenAI's logprobs object for the chosen tokens (no token text or alternatives: LocalLlm records the chosen token's log-probability only), or null.</summary>
    private static void LogProbs(Utf8JsonWriter w, IReadOnlyList<double>? logProbs)
    {
        if (logProbs is null)
        {
            w.WriteNull("logprobs");
            return;
        }
        w.WriteStartObject("logprobs");
        w.WriteStartArray("content");
        foreach (double lp in logProbs)
        {
            w.WriteStartObject();
            w.WriteString("token", "");
            w.WriteNumber("logprob", lp);
            w.WriteNull("bytes");
            w.WriteStartArray("top_logprobs");
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

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
        if (usage.CachedInputTokenCount is { } cached)
        {
            w.WriteStartObject("prompt_tokens_details");
            w.WriteNumber("cached_tokens", cached);
            w.WriteEndObject();
        }
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
