using System.Text.Json;
using Microsoft.Extensions.AI;

namespace LocalLlm.Samples.WebChat.OpenAI;

/// <summary>An OpenAI <c>/v1/chat/completions</c> body mapped to Microsoft.Extensions.AI messages and options.</summary>
internal sealed record ChatCompletionRequest(List<ChatMessage> Messages, ChatOptions Options, bool Stream, bool IncludeUsage)
{
    private static readonly JsonElement s_emptyParameters = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement;

    /// <exception cref="OpenAIRequestException">A field is missing, of the wrong type or not supported; the message names it.</exception>
    public static ChatCompletionRequest Parse(JsonElement root, OpenAIEndpointOptions limits)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new OpenAIRequestException("The request body must be a JSON object.");
        if (!root.TryGetProperty("messages", out var messagesJson) || messagesJson.ValueKind != JsonValueKind.Array || messagesJson.GetArrayLength() == 0)
            throw new OpenAIRequestException("'messages' is required: a non-empty array of {role, content}.", "messages");
        if (messagesJson.GetArrayLength() > limits.MaxMessages)
            throw new OpenAIRequestException($"'messages' has {messagesJson.GetArrayLength()} items; this server accepts at most {limits.MaxMessages}.", "messages");

        var messages = new List<ChatMessage>();
        int i = 0;
        foreach (var m in messagesJson.EnumerateArray())
            messages.Add(ParseMessage(m, $"messages[{i++}]"));

        var options = new ChatOptions
        {
            MaxOutputTokens = Int(root, "max_completion_tokens") ?? Int(root, "max_tokens"),
            Temperature = Float(root, "temperature"),
            TopP = Float(root, "top_p"),
            TopK = Int(root, "top_k"),
            Seed = Long(root, "seed"),
            FrequencyPenalty = Float(root, "frequency_penalty"),
            PresencePenalty = Float(root, "presence_penalty"),
            StopSequences = Stops(root),
            ResponseFormat = ResponseFormat(root),
        };
        if (Int(root, "n") is { } n && n != 1) throw new OpenAIRequestException("'n' must be 1: this server returns one choice per request.", "n");
        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind != JsonValueKind.Null)
        {
            options.Tools = ParseTools(tools);
            options.ToolMode = ToolChoice(root);
        }

        bool stream = Bool(root, "stream") ?? false;
        bool includeUsage = root.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object && (Bool(so, "include_usage", "stream_options.include_usage") ?? false);
        return new ChatCompletionRequest(messages, options, stream, includeUsage);
    }

    private static ChatMessage ParseMessage(JsonElement m, string path)
    {
        if (m.ValueKind != JsonValueKind.Object) throw new OpenAIRequestException($"'{path}' must be an object with 'role' and 'content'.", path);
        string role = Str(m, "role", $"{path}.role") ?? throw new OpenAIRequestException($"'{path}.role' is required (system, developer, user, assistant or tool).", $"{path}.role");
        switch (role)
        {
            case "system" or "developer":
                return new ChatMessage(ChatRole.System, Content(m, path, required: true));
            case "user":
                return new ChatMessage(ChatRole.User, Content(m, path, required: true));
            case "assistant":
                var assistant = new ChatMessage(ChatRole.Assistant, []);
                if (Content(m, path, required: false) is { Length: > 0 } text) assistant.Contents.Add(new TextContent(text));
                if (m.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                {
                    int j = 0;
                    foreach (var call in calls.EnumerateArray())
                        assistant.Contents.Add(ParseToolCall(call, $"{path}.tool_calls[{j++}]"));
                }
                if (assistant.Contents.Count == 0) throw new OpenAIRequestException($"'{path}' has neither content nor tool_calls.", path);
                return assistant;
            case "tool":
                string callId = Str(m, "tool_call_id", $"{path}.tool_call_id") ?? throw new OpenAIRequestException($"'{path}.tool_call_id' is required on tool messages.", $"{path}.tool_call_id");
                return new ChatMessage(ChatRole.Tool, [new FunctionResultContent(callId, Content(m, path, required: true))]);
            default:
                throw new OpenAIRequestException($"'{path}.role' is '{role}'; use system, developer, user, assistant or tool.", $"{path}.role");
        }
    }

    private static FunctionCallContent ParseToolCall(JsonElement call, string path)
    {
        string id = Str(call, "id", $"{path}.id") ?? throw new OpenAIRequestException($"'{path}.id' is required.", $"{path}.id");
        if (!call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
            throw new OpenAIRequestException($"'{path}.function' is required.", $"{path}.function");
        string name = Str(function, "name", $"{path}.function.name") ?? throw new OpenAIRequestException($"'{path}.function.name' is required.", $"{path}.function.name");
        string arguments = Str(function, "arguments", $"{path}.function.arguments") ?? "{}";
        try
        {
            var args = JsonSerializer.Deserialize<Dictionary<string, object?>>(arguments, AIJsonUtilities.DefaultOptions);
            return new FunctionCallContent(id, name, args);
        }
        catch (JsonException e)
        {
            throw new OpenAIRequestException($"'{path}.function.arguments' must be a JSON object in a string: {e.Message}", $"{path}.function.arguments");
        }
    }

    /// <summary>A message's text: a string, or an array of text parts (other part types are not supported by a text model).</summary>
    private static string Content(JsonElement m, string path, bool required)
    {
        if (!m.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
            return required ? throw new OpenAIRequestException($"'{path}.content' is required.", $"{path}.content") : "";
        if (content.ValueKind == JsonValueKind.String) return content.GetString()!;
        if (content.ValueKind != JsonValueKind.Array) throw new OpenAIRequestException($"'{path}.content' must be a string or an array of text parts.", $"{path}.content");
        var text = new System.Text.StringBuilder();
        int k = 0;
        foreach (var part in content.EnumerateArray())
        {
            string partPath = $"{path}.content[{k++}]";
            string type = part.ValueKind == JsonValueKind.Object ? Str(part, "type", $"{partPath}.type") ?? "" : "";
            if (type != "text") throw new OpenAIRequestException($"'{partPath}' is a '{type}' part; this model reads text parts only.", partPath);
            text.Append(Str(part, "text", $"{partPath}.text"));
        }
        return text.ToString();
    }

    private static List<AITool> ParseTools(JsonElement tools)
    {
        if (tools.ValueKind != JsonValueKind.Array) throw new OpenAIRequestException("'tools' must be an array.", "tools");
        var list = new List<AITool>();
        int i = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            string path = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object || Str(tool, "type", $"{path}.type") != "function" || !tool.TryGetProperty("function", out var f) || f.ValueKind != JsonValueKind.Object)
                throw new OpenAIRequestException($"'{path}' must be {{\"type\":\"function\",\"function\":{{\"name\",\"description\",\"parameters\"}}}}.", path);
            string name = Str(f, "name", $"{path}.function.name") ?? throw new OpenAIRequestException($"'{path}.function.name' is required.", $"{path}.function.name");
            var parameters = f.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object ? p.Clone() : s_emptyParameters;
            list.Add(AIFunctionFactory.CreateDeclaration(name, Str(f, "description", $"{path}.function.description"), parameters));
        }
        return list;
    }

    private static ChatToolMode? ToolChoice(JsonElement root)
    {
        if (!root.TryGetProperty("tool_choice", out var choice) || choice.ValueKind == JsonValueKind.Null) return null;
        if (choice.ValueKind == JsonValueKind.String)
        {
            return choice.GetString() switch
            {
                "none" => ChatToolMode.None,
                "auto" => ChatToolMode.Auto,
                "required" => ChatToolMode.RequireAny,
                var other => throw new OpenAIRequestException($"'tool_choice' is '{other}'; use none, auto, required or {{\"type\":\"function\",\"function\":{{\"name\"}}}}.", "tool_choice"),
            };
        }
        if (choice.ValueKind == JsonValueKind.Object && choice.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object && Str(f, "name", "tool_choice.function.name") is { } name)
            return ChatToolMode.RequireSpecific(name);
        throw new OpenAIRequestException("'tool_choice' must be none, auto, required or {\"type\":\"function\",\"function\":{\"name\"}}.", "tool_choice");
    }

    private static ChatResponseFormat? ResponseFormat(JsonElement root)
    {
        if (!root.TryGetProperty("response_format", out var format) || format.ValueKind == JsonValueKind.Null) return null;
        string? type = format.ValueKind == JsonValueKind.Object ? Str(format, "type", "response_format.type") : null;
        switch (type)
        {
            case "text": return ChatResponseFormat.Text;
            case "json_object": return ChatResponseFormat.Json;
            case "json_schema":
                if (!format.TryGetProperty("json_schema", out var js) || js.ValueKind != JsonValueKind.Object || !js.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                    throw new OpenAIRequestException("'response_format.json_schema.schema' is required: a JSON Schema object.", "response_format.json_schema.schema");
                return ChatResponseFormat.ForJsonSchema(schema.Clone(), Str(js, "name", "response_format.json_schema.name"), Str(js, "description", "response_format.json_schema.description"));
            default:
                throw new OpenAIRequestException($"'response_format.type' is '{type}'; use text, json_object or json_schema.", "response_format.type");
        }
    }

    private static List<string>? Stops(JsonElement root)
    {
        if (!root.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null) return null;
        if (stop.ValueKind == JsonValueKind.String) return [stop.GetString()!];
        if (stop.ValueKind == JsonValueKind.Array && stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String))
            return [.. stop.EnumerateArray().Select(s => s.GetString()!)];
        throw new OpenAIRequestException("'stop' must be a string or an array of strings.", "stop");
    }

    private static string? Str(JsonElement o, string name, string path) =>
        !o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : throw new OpenAIRequestException($"'{path}' must be a string.", path);

    private static bool? Bool(JsonElement o, string name, string? path = null) =>
        !o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean()
        : throw new OpenAIRequestException($"'{path ?? name}' must be true or false.", path ?? name);

    private static int? Int(JsonElement o, string name) =>
        !o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i
        : throw new OpenAIRequestException($"'{name}' must be an integer.", name);

    private static long? Long(JsonElement o, string name) =>
        !o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long l) ? l
        : throw new OpenAIRequestException($"'{name}' must be an integer.", name);

    private static float? Float(JsonElement o, string name) =>
        !o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Number ? v.GetSingle()
        : throw new OpenAIRequestException($"'{name}' must be a number.", name);
}
