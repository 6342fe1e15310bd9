using System.Text.Json;
using Microsoft.Extensions.AI;

namespace LocalLlm.Samples.WebChat.OpenAI;

/// <summary>
/// An OpenAI <c>/v1/chat/completions</c> body mapped to Microsoft.Extensions.AI messages and options. Every field it reads
/// is type-checked (a wrong type, an out-of-range number or text that is not valid Unicode is an
/// <see cref="OpenAIRequestException"/> naming the field); fields it does not know are ignored, as OpenAI's clients
/// expect, except those that would change the answer and cannot be honoured (<c>logit_bias</c>, <c>top_logprobs</c>).
/// </summary>
internal sealed record ChatCompletionRequest(string? Model, List<ChatMessage> Messages, ChatOptions Options, bool Stream, bool IncludeUsage, bool LogProbabilities)
{
    /// <summary>The request field an SDK option came from (the ParamName of LocalLlm's ArgumentExceptions), for the error's param.</summary>
    public static string? FieldOf(string? option) => option switch
    {
        null => null,
        nameof(ChatOptions.MaxOutputTokens) => "max_completion_tokens",
        nameof(ChatOptions.Temperature) => "temperature",
        nameof(ChatOptions.TopP) => "top_p",
        nameof(ChatOptions.TopK) => "top_k",
        nameof(ChatOptions.Seed) => "seed",
        nameof(ChatOptions.StopSequences) => "stop",
        nameof(ChatOptions.ResponseFormat) => "response_format",
        nameof(ChatOptions.Tools) or nameof(ChatOptions.ToolMode) => "tools",
        nameof(ChatOptions.Instructions) or "messages" => "messages",
        LocalLlmOptionKeys.CandidateCount => "n",
        LocalLlmOptionKeys.LogProbabilities => "logprobs",
        LocalLlmOptionKeys.Adapter => "localllm_adapter",
        _ => null,
    };

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

        string? model = Str(root, "model", "model");
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
        // n and logprobs map to what LocalLlm has (candidates, the chosen token's log-probability); the rest is refused, never ignored.
        if (Int(root, "n") is { } n)
        {
            if (n < 1) throw new OpenAIRequestException($"'n' must be at least 1 (was {n}).", "n");
            if (n > 1) options.WithCandidateCount(n);
        }
        bool logProbs = Bool(root, "logprobs") ?? false;
        if (Int(root, "top_logprobs") is { } top && top != 0)
            throw new OpenAIRequestException(logProbs
                ? $"'top_logprobs' ({top}) is not supported: this server reports the log-probability of each chosen token only; send logprobs: true without top_logprobs."
                : "'top_logprobs' needs logprobs: true, and this server supports only top_logprobs 0.", "top_logprobs", "unsupported_value");
        if (logProbs) options.WithLogProbabilities();
        if (root.TryGetProperty("logit_bias", out var bias) && bias.ValueKind is not JsonValueKind.Null && !(bias.ValueKind == JsonValueKind.Object && !bias.EnumerateObject().Any()))
            throw new OpenAIRequestException("'logit_bias' is not supported by this server (ONNX Runtime GenAI has no logit bias); leave it out.", "logit_bias", "unsupported_value");
        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind != JsonValueKind.Null)
        {
            options.Tools = ParseTools(tools);
            options.ToolMode = ToolChoice(root);
        }

        bool stream = Bool(root, "stream") ?? false;
        bool includeUsage = root.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object && (Bool(so, "include_usage", "stream_options.include_usage") ?? false);
        // Not an OpenAI field: the chat page's sampling preset (SamplingPreset.BuiltIn by name) fills what the request left unset.
        if (Str(root, "localllm_preset", "localllm_preset") is { } preset)
        {
            try { options = SamplingPreset.FromName(preset).ApplyTo(options); }
            catch (ArgumentException e) { throw new OpenAIRequestException(e.Message, "localllm_preset"); }
        }
        // Not an OpenAI field: the LoRA adapter (a name in the model's LocalLlm:Adapters); the SDK refuses unknown names.
        if (Str(root, "localllm_adapter", "localllm_adapter") is { } adapter)
        {
            if (adapter.Length == 0) throw new OpenAIRequestException("'localllm_adapter' is empty; leave it out for the base model.", "localllm_adapter");
            options.WithAdapter(adapter);
        }
        return new ChatCompletionRequest(model, messages, options, stream, includeUsage, logProbs);
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
                return new ChatMessage(ChatRole.User, UserContent(m, path));
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
        if (call.ValueKind != JsonValueKind.Object) throw new OpenAIRequestException($"'{path}' must be an object with 'id', 'type' and 'function'.", path);
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
        if (content.ValueKind == JsonValueKind.String) return Text(content, $"{path}.content");
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

    /// <summary>
    /// A user message's parts: text, and <c>image_url</c> parts as <see cref="DataContent"/> (a data URL) or
    /// <see cref="UriContent"/> (an http(s) URL), so the SDK decides what the model can read (a text model refuses them
    /// with an error naming the message, never a silent drop).
    /// </summary>
    private static List<AIContent> UserContent(JsonElement m, string path)
    {
        if (!m.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
            return [new TextContent(Content(m, path, required: true))];
        var parts = new List<AIContent>();
        int k = 0;
        foreach (var part in content.EnumerateArray())
        {
            string partPath = $"{path}.content[{k++}]";
            string type = part.ValueKind == JsonValueKind.Object ? Str(part, "type", $"{partPath}.type") ?? "" : "";
            switch (type)
            {
                case "text": parts.Add(new TextContent(Str(part, "text", $"{partPath}.text") ?? "")); break;
                case "image_url": parts.Add(Image(part, partPath)); break;
                default: throw new OpenAIRequestException($"'{partPath}' is a '{type}' part; use 'text' or 'image_url' parts.", partPath);
            }
        }
        return parts;
    }

    /// <summary>An <c>image_url</c> part; a fault names the part (<paramref name="path"/>).</summary>
    private static AIContent Image(JsonElement part, string path)
    {
        string? url = part.TryGetProperty("image_url", out var image) && image.ValueKind == JsonValueKind.Object ? Str(image, "url", path) : null;
        if (url is not null && url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            DataContent data;
            try { data = new DataContent(url); }
            catch (FormatException e) { throw new OpenAIRequestException($"'{path}.image_url.url' is not a valid base64 data URL: {e.Message}", path); }
            return data.HasTopLevelMediaType("image")
                ? data
                : throw new OpenAIRequestException($"'{path}.image_url.url' is a data URL of {data.MediaType}; send an image (image/png, image/jpeg, ...).", path);
        }
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            return new UriContent(uri, "image/*");
        throw new OpenAIRequestException($"'{path}.image_url.url' must be a data URL (data:image/png;base64,...) or an http(s) URL.", path);
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
            if (f.TryGetProperty("parameters", out var p) && p.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                throw new OpenAIRequestException($"'{path}.function.parameters' must be a JSON Schema object.", $"{path}.function.parameters");
            var parameters = p.ValueKind == JsonValueKind.Object ? p.Clone() : s_emptyParameters;
            list.Add(AIFunctionFactory.CreateDeclaration(name, Str(f, "description", $"{path}.function.description"), parameters));
        }
        return list;
    }

    private static ChatToolMode? ToolChoice(JsonElement root)
    {
        if (!root.TryGetProperty("tool_choice", out var choice) || choice.ValueKind == JsonValueKind.Null) return null;
        if (choice.ValueKind == JsonValueKind.String)
        {
            return Text(choice, "tool_choice") switch
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
        if (stop.ValueKind == JsonValueKind.String) return [Text(stop, "stop")];
        if (stop.ValueKind == JsonValueKind.Array && stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String))
            return [.. stop.EnumerateArray().Select((s, i) => Text(s, $"stop[{i}]"))];
        throw new OpenAIRequestException("'stop' must be a string or an array of strings.", "stop");
    }

    private static string? Str(JsonElement o, string name, string path) =>
        !o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.String ? Text(v, path)
        : throw new OpenAIRequestException($"'{path}' must be a string.", path);

    /// <summary>A JSON string as .NET text: an escaped lone surrogate (<c>"\ud800"</c>) or invalid UTF-8 bytes are the caller's fault, not a 500.</summary>
    private static string Text(JsonElement v, string path)
    {
        try
        {
            return v.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw new OpenAIRequestException($"'{path}' is not valid Unicode text (a lone UTF-16 surrogate escape such as \\ud800, or invalid UTF-8 bytes): {e.Message} Send valid UTF-8.", path, "invalid_encoding");
        }
    }

    private static bool? Bool(JsonElement o, string name, string? path = null) =>
        !o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean()
        : throw new OpenAIRequestException($"'{path ?? name}' must be true or false.", path ?? name);

    private static int? Int(JsonElement o, string name) =>
        !o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i
        : throw new OpenAIRequestException($"'{name}' must be an integer between {int.MinValue} and {int.MaxValue}.", name);

    private static long? Long(JsonElement o, string name) =>
        !o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long l) ? l
        : throw new OpenAIRequestException($"'{name}' must be an integer.", name);

    private static float? Float(JsonElement o, string name) =>
        !o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && double.IsFinite(d) && Math.Abs(d) <= float.MaxValue ? (float)d
        : throw new OpenAIRequestException($"'{name}' must be a finite number.", name);
}
