using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace LocalLlm;

/// <summary>
/// Messages → prompt text → token ids. Uses the model's own chat template (tools included) unless the client
/// overrides it, checks every id against the vocabulary, and fits the prompt into the context.
/// </summary>
internal static class PromptRenderer
{
    /// <param name="Text">The rendered prompt (with image placeholders where images are).</param>
    /// <param name="Tokens">Its token ids.</param>
    /// <param name="DroppedMessages">Messages truncation dropped.</param>
    /// <param name="Images">The image processor's inputs when the prompt holds images (its tokens then include the image
    /// placeholders, negative ids); null for text. The caller disposes them after the generation ends.</param>
    public readonly record struct RenderedPrompt(string Text, int[] Tokens, int DroppedMessages, ImageInputs? Images = null);

    /// <exception cref="ArgumentException">No messages, or a role the chat format has no place for.</exception>
    /// <exception cref="PromptLengthException">The prompt does not fit and truncation is off (or cannot help).</exception>
    public static RenderedPrompt Render(LocalModel model, IEnumerable<ChatMessage> messages, ChatOptions? options,
        LocalLlmChatClientOptions clientOptions, ILogger logger)
    {
        List<ChatMessage> given = [.. messages];
        // Checked before the instructions join: messages[i] in an error is the caller's index.
        var images = RequestValidation.Prompt(model.Info, given, options, clientOptions.AllowImageFiles);
        List<ChatMessage> list = WithInstructions(given, options?.Instructions);
        if (list.Count == 0)
            throw new ArgumentException("The message list is empty; send at least one user message.", nameof(messages));
        foreach (var m in list) CheckRole(m.Role, nameof(messages));

        int context = model.Info.ContextLength;
        int dropped = 0;
        while (true)
        {
            // Images become numbered placeholders in the turns still in the prompt; their tokens are counted before the processor runs.
            var (shown, ordered) = images.Count > 0 ? PromptImages.Number(list, images) : (list, []);
            string text = Format(model, shown, options, clientOptions);
            int[] tokens;
            if (ordered.Count > 0)
            {
                tokens = PromptImages.Tokens(model, text, ordered);
            }
            else
            {
                tokens = model.Encode(text);
                model.ValidateTokens(tokens);
            }
            if (tokens.Length < context)
            {
                if (dropped > 0) Log.PromptTruncated(logger, tokens.Length, context, dropped);
                return new(text, tokens, dropped, ordered.Count > 0 ? model.ProcessImages(text, ordered) : null);
            }
            if (clientOptions.Truncation != PromptTruncation.DropOldestTurns || !DropOldest(list))
                throw new PromptLengthException(tokens.Length, context);
            dropped++;
        }
    }

    /// <summary>
    /// Removes the oldest turn: a user message and the replies up to the next user message. Whole turns keep
    /// templates that require user/assistant alternation valid. Never the system message or the last message.
    /// </summary>
    private static bool DropOldest(List<ChatMessage> list)
    {
        int start = list.FindIndex(m => m.Role != ChatRole.System);
        if (start < 0) return false;
        int end = start + 1;
        while (end < list.Count && list[end].Role != ChatRole.User) end++;
        if (end >= list.Count) return false; // the oldest turn is the last one
        list.RemoveRange(start, end - start);
        return true;
    }

    private static List<ChatMessage> WithInstructions(List<ChatMessage> messages, string? instructions)
    {
        if (string.IsNullOrWhiteSpace(instructions)) return messages;
        if (messages.Count > 0 && messages[0].Role == ChatRole.System)
        {
            // Prepended as text, so a system message's other contents (an image) stay where they were.
            var merged = messages[0].Clone();
            merged.Contents = [new TextContent(instructions + "\n\n"), .. messages[0].Contents];
            messages[0] = merged;
            return messages;
        }
        messages.Insert(0, new ChatMessage(ChatRole.System, instructions));
        return messages;
    }

    private static void CheckRole(ChatRole role, string paramName)
    {
        if (role != ChatRole.System && role != ChatRole.User && role != ChatRole.Assistant && role != ChatRole.Tool)
            throw new ArgumentException($"Message role '{role.Value}' is not supported; use system, user, assistant or tool.", paramName);
    }

    private static string Format(LocalModel model, List<ChatMessage> messages, ChatOptions? options, LocalLlmChatClientOptions clientOptions)
    {
        if (clientOptions.PromptFormatter is { } formatter) return formatter(messages, options);
        string? tools = options?.Tools is { Count: > 0 } t ? ToolsJson(t) : null;
        return model.ApplyChatTemplate(clientOptions.ChatTemplate, MessagesJson(messages), tools);
    }

    /// <summary>The Hugging Face chat format: role, content, tool_calls on assistant turns, one tool message per result.</summary>
    internal static string MessagesJson(IEnumerable<ChatMessage> messages)
    {
        var array = new JsonArray();
        foreach (var message in messages)
        {
            var results = message.Contents.OfType<FunctionResultContent>().ToList();
            if (results.Count > 0)
            {
                foreach (var r in results)
                    array.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = r.CallId, ["content"] = ResultText(r.Result) });
                continue;
            }

            var node = new JsonObject { ["role"] = message.Role.Value, ["content"] = message.Text };
            var calls = message.Contents.OfType<FunctionCallContent>().ToList();
            if (calls.Count > 0)
            {
                var callArray = new JsonArray();
                foreach (var c in calls)
                {
                    callArray.Add(new JsonObject
                    {
                        ["id"] = c.CallId,
                        ["type"] = "function",
                        ["function"] = new JsonObject
                        {
                            ["name"] = c.Name,
                            ["arguments"] = JsonSerializer.SerializeToNode(c.Arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions),
                        },
                    });
                }
                node["tool_calls"] = callArray;
            }
            array.Add(node);
        }
        return array.ToJsonString();
    }

    internal static string ToolsJson(IEnumerable<AITool> tools)
    {
        var array = new JsonArray();
        foreach (var tool in tools.OfType<AIFunctionDeclaration>())
        {
            array.Add(new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject
                {
                    ["name"] = tool.Name,
                    ["description"] = tool.Description,
                    ["parameters"] = JsonNode.Parse(tool.JsonSchema.GetRawText()),
                },
            });
        }
        return array.ToJsonString();
    }

    private static string ResultText(object? result) => result switch
    {
        null => "",
        string s => s,
        JsonElement e when e.ValueKind == JsonValueKind.String => e.GetString() ?? "",
        _ => JsonSerializer.Serialize(result, AIJsonUtilities.DefaultOptions),
    };
}
