using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace LocalLlm;

/// <summary>
/// A request's <see cref="ChatOptions"/> mapped to ONNX Runtime GenAI search options, validated first so that
/// nonsense fails with a message naming the option instead of a native error. The mapping is the README's table.
/// </summary>
internal sealed record GenerationSettings
{
    public required int MaxOutputTokens { get; init; }
    public bool DoSample { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public long? Seed { get; init; }
    public IReadOnlyList<string> StopSequences { get; init; } = [];
    public double? RepetitionPenalty { get; init; }
    public int? NoRepeatNgramSize { get; init; }
    public int NumBeams { get; init; } = 1;
    public double? LengthPenalty { get; init; }
    public bool? EarlyStopping { get; init; }
    public int? MinOutputTokens { get; init; }
    public int CandidateCount { get; init; } = 1;
    public bool LogProbabilities { get; init; }

    /// <summary>llguidance type and data (json_schema, regex or lark_grammar), or null.</summary>
    public (string Type, string Data)? Guidance { get; init; }

    /// <summary>The declared function names: a parsed tool call must name one of them, otherwise it is text.</summary>
    public IReadOnlySet<string> ToolNames { get; init; } = new HashSet<string>();

    /// <summary>The LoRA adapter the generator runs under (a name the client loaded), or null for the base model.</summary>
    public string? Adapter { get; init; }

    /// <summary>True when the request declares tools and does not turn them off (ToolMode None): answers are parsed for tool calls.</summary>
    public bool ToolsEnabled { get; init; }

    /// <summary>True when output must be one JSON value: generation stops when it closes, and it is validated.</summary>
    public bool JsonOutput { get; init; }

    /// <exception cref="ArgumentException">An option is out of range; the message names it and its valid range.</exception>
    public static GenerationSettings From(ChatOptions? options, int defaultMaxOutputTokens, ILogger logger)
    {
        if (options is null) return new() { MaxOutputTokens = defaultMaxOutputTokens };

        RequestValidation.Options(options, defaultMaxOutputTokens);
        WarnUnsupported(options, logger);

        var extra = options.AdditionalProperties;
        int beams = Get<int>(extra, LocalLlmOptionKeys.NumBeams) ?? 1;
        int candidates = Get<int>(extra, LocalLlmOptionKeys.CandidateCount) ?? 1;
        // Temperature 0 is greedy; any sampling knob without a temperature samples at temperature 1.
        bool doSample = options.Temperature is { } temp ? temp > 0 : options.TopP is not null || options.TopK is not null;

        (string, string)? guidance = null;
        bool json = false;
        if (GetString(extra, LocalLlmOptionKeys.RegexGrammar) is { } regex) guidance = ("regex", regex);
        else if (GetString(extra, LocalLlmOptionKeys.LarkGrammar) is { } lark) guidance = ("lark_grammar", lark);
        else if (options.ResponseFormat is ChatResponseFormatJson jsonFormat)
        {
            json = true;
            string schema = jsonFormat.Schema is { } s ? s.GetRawText() : """{"type":"object"}""";
            guidance = ("json_schema", CompactJsonSchema(schema));
        }

        bool toolsEnabled = options.Tools is { Count: > 0 } && options.ToolMode is not NoneChatToolMode;
        if (ToolGrammar(options) is { } toolGrammar)
        {
            guidance = ("json_schema", CompactJsonSchema(toolGrammar));
            json = false; // the answer is a tool call, parsed as one
        }

        return new()
        {
            MaxOutputTokens = options.MaxOutputTokens ?? defaultMaxOutputTokens,
            DoSample = doSample,
            Temperature = options.Temperature,
            TopP = options.TopP,
            TopK = options.TopK,
            Seed = options.Seed,
            StopSequences = options.StopSequences is { Count: > 0 } stops ? [.. stops] : [],
            RepetitionPenalty = Get<double>(extra, LocalLlmOptionKeys.RepetitionPenalty),
            NoRepeatNgramSize = Get<int>(extra, LocalLlmOptionKeys.NoRepeatNgramSize),
            NumBeams = beams,
            LengthPenalty = Get<double>(extra, LocalLlmOptionKeys.LengthPenalty),
            EarlyStopping = Get<bool>(extra, LocalLlmOptionKeys.EarlyStopping),
            MinOutputTokens = Get<int>(extra, LocalLlmOptionKeys.MinOutputTokens),
            CandidateCount = candidates,
            LogProbabilities = Get<bool>(extra, LocalLlmOptionKeys.LogProbabilities) ?? false,
            Guidance = guidance,
            JsonOutput = json,
            Adapter = GetString(extra, LocalLlmOptionKeys.Adapter),
            ToolNames = options.Tools is { Count: > 0 } tools ? tools.OfType<AIFunctionDeclaration>().Select(f => f.Name).ToHashSet(StringComparer.Ordinal) : new HashSet<string>(),
            ToolsEnabled = toolsEnabled,
        };
    }

    /// <summary>ToolMode Required: a JSON schema that makes the answer a well-formed call to one of the tools; else null.</summary>
    /// <exception cref="ArgumentException">The required function is not among the tools.</exception>
    private static string? ToolGrammar(ChatOptions options)
    {
        if (options.ToolMode is not RequiredChatToolMode required || options.Tools is not { Count: > 0 } tools) return null;
        var functions = tools.OfType<AIFunctionDeclaration>()
            .Where(f => required.RequiredFunctionName is null || f.Name == required.RequiredFunctionName).ToList();
        if (functions.Count == 0)
            throw new ArgumentException($"ToolMode requires function '{required.RequiredFunctionName}', which is not in ChatOptions.Tools.", nameof(options));
        var oneOf = functions.Select(f => $$"""{"type":"object","properties":{"name":{"const":{{System.Text.Json.JsonSerializer.Serialize(f.Name)}}},"parameters":{{f.JsonSchema.GetRawText()}}},"required":["name","parameters"],"additionalProperties":false}""");
        return $$"""{"anyOf":[{{string.Join(",", oneOf)}}]}""";
    }

    /// <summary>
    /// ORT GenAI has only repetition_penalty, which scales logits of every seen token; frequency and presence
    /// penalties subtract by count or once. Mapping one to the other would change meaning silently, so we don't.
    /// </summary>
    private static void WarnUnsupported(ChatOptions options, ILogger logger)
    {
        const string hint = "Use options.WithRepetitionPenalty(1.1) (multiplicative, on every token already seen) or WithNoRepeatNgramSize(n).";
        if (options.FrequencyPenalty is { } f && f != 0) Log.UnsupportedOption(logger, nameof(ChatOptions.FrequencyPenalty), f, hint);
        if (options.PresencePenalty is { } pr && pr != 0) Log.UnsupportedOption(logger, nameof(ChatOptions.PresencePenalty), pr, hint);
    }

    /// <summary>
    /// Asks llguidance for JSON without free whitespace (top-level "x-guidance" key) unless the schema says otherwise:
    /// with whitespace allowed anywhere, small models can spend their whole budget on it and never close the value.
    /// </summary>
    internal static string CompactJsonSchema(string schema)
    {
        if (System.Text.Json.Nodes.JsonNode.Parse(schema) is not System.Text.Json.Nodes.JsonObject root || root.ContainsKey("x-guidance")) return schema;
        root["x-guidance"] = new System.Text.Json.Nodes.JsonObject { ["whitespace_flexible"] = false };
        return root.ToJsonString();
    }

    private static T? Get<T>(AdditionalPropertiesDictionary? extra, string key) where T : struct =>
        extra is not null && extra.TryGetValue(key, out T value) ? value : null;

    private static string? GetString(AdditionalPropertiesDictionary? extra, string key) =>
        extra is not null && extra.TryGetValue(key, out string? value) ? value : null;
}
