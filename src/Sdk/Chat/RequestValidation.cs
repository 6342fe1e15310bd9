using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Json.Schema;
using Microsoft.Extensions.AI;
using Microsoft.ML.OnnxRuntimeGenAI;

// CA2208: ParamName is the option inside ChatOptions (a property or AdditionalProperties key), so callers such as the
// web sample can name the request field; it is deliberately not a parameter of these helpers.
#pragma warning disable CA2208

namespace LocalLlm;

/// <summary>
/// Every check a request gets before native code sees it, in one place: each fault is an
/// <see cref="ArgumentException"/> whose <see cref="ArgumentException.ParamName"/> is the option (the
/// <see cref="ChatOptions"/> property, the <see cref="LocalLlmOptionKeys"/> key, or <c>messages</c>) and whose
/// message says what to send instead. What only the native grammar compiler can judge (llguidance) is translated
/// from its <see cref="OnnxRuntimeGenAIException"/> by <see cref="CreateGenerator"/>.
/// </summary>
internal static partial class RequestValidation
{
    /// <summary>Most stop strings per request (each is matched on the text after every token).</summary>
    public const int MaxStopSequences = 16;

    /// <summary>Longest stop string, in UTF-16 code units.</summary>
    public const int MaxStopLength = 256;

    /// <summary>Most beams (every beam holds its own KV cache).</summary>
    public const int MaxBeams = 16;

    /// <summary>Most candidate answers per request (each holds its own KV cache).</summary>
    public const int MaxCandidates = 64;

    /// <summary>Largest grammar or JSON schema text, in UTF-16 code units.</summary>
    public const int MaxGrammarLength = 256 * 1024;

    /// <summary>The JSON Schema type names llguidance knows; anything else fails in native code ("Invalid type").</summary>
    private static readonly HashSet<string> s_schemaTypes = ["object", "array", "string", "number", "integer", "boolean", "null"];

    /// <summary>Tool and adapter names: 1 to 64 of A-Za-z0-9_.-</summary>
    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex Name();

    /// <summary>True when <paramref name="name"/> is a valid adapter name (the tool-name rule).</summary>
    public static bool IsAdapterName(string? name) => name is not null && Name().IsMatch(name);

    /// <summary>The request's adapter must be one the client loaded.</summary>
    /// <exception cref="ArgumentException">The name is not among <paramref name="known"/>.</exception>
    public static void Adapter(string? adapter, ICollection<string> known, string model)
    {
        if (adapter is null || known.Contains(adapter)) return;
        string have = known.Count == 0
            ? "this client has none: add it to LocalLlmChatClientOptions.Adapters (name → .onnx_adapter file)"
            : $"use one of {string.Join(", ", known.Order(StringComparer.Ordinal))} (LocalLlmChatClientOptions.Adapters)";
        throw new ArgumentException($"Unknown adapter '{adapter}' for model '{model}': {have}.", LocalLlmOptionKeys.Adapter);
    }

    /// <summary>Checks a request's options (called where they are parsed, <see cref="GenerationSettings.From"/>).</summary>
    /// <exception cref="ArgumentException">An option is out of range or malformed; ParamName names it.</exception>
    public static void Options(ChatOptions options, int defaultMaxOutputTokens)
    {
        if (options.MaxOutputTokens is { } max && max <= 0)
            throw new ArgumentOutOfRangeException(nameof(options.MaxOutputTokens), max, $"ChatOptions.MaxOutputTokens must be at least 1 (was {max}); leave it null for the default of {defaultMaxOutputTokens}.");
        if (options.Temperature is { } t && (!float.IsFinite(t) || t < 0))
            throw new ArgumentOutOfRangeException(nameof(options.Temperature), t, $"ChatOptions.Temperature must be a finite number ≥ 0 (was {Format(t)}); 0 means greedy decoding.");
        if (options.TopP is { } p && (!float.IsFinite(p) || p <= 0 || p > 1))
            throw new ArgumentOutOfRangeException(nameof(options.TopP), p, $"ChatOptions.TopP must be in (0, 1] (was {Format(p)}).");
        if (options.TopK is { } k && k <= 0)
            throw new ArgumentOutOfRangeException(nameof(options.TopK), k, $"ChatOptions.TopK must be at least 1 (was {k}).");
        var extra = options.AdditionalProperties;
        int candidates = Extra<int>(extra, LocalLlmOptionKeys.CandidateCount, "WithCandidateCount(n)") ?? 1;
        if (options.Seed is { } seed && (seed < 0 || seed > int.MaxValue - (Math.Clamp(candidates, 1, MaxCandidates) - 1)))
            throw new ArgumentOutOfRangeException(nameof(options.Seed), seed, $"ChatOptions.Seed must be between 0 and {int.MaxValue - (Math.Clamp(candidates, 1, MaxCandidates) - 1)} (was {seed}): ONNX Runtime GenAI's random_seed is a 32-bit integer{(candidates > 1 ? " and each candidate uses seed + its index" : "")}.");
        Stops(options.StopSequences);
        if (options.Instructions is { } instructions) Text(instructions, nameof(options.Instructions), "ChatOptions.Instructions");
        Extras(extra, candidates);
        if (options.ResponseFormat is ChatResponseFormatJson { Schema: { } schema })
            Schema(schema, nameof(options.ResponseFormat), "ChatOptions.ResponseFormat's JSON schema");
        if (options.Tools is { Count: > 0 } tools) Tools(tools);
    }

    /// <summary>Largest image a request may hold, in bytes (a PNG or JPEG; the processor decodes it in native code).</summary>
    public const int MaxImageBytes = 20 * 1024 * 1024;

    /// <summary>Largest image side, in pixels (the decoded RGB image is width × height × 3 bytes).</summary>
    public const int MaxImageSide = 4096;

    /// <summary>Most images per request (phi3v gives each up to 2,509 prompt tokens).</summary>
    public const int MaxImages = 8;

    /// <summary>
    /// Checks what needs the model: the messages' text (nothing that cannot reach the native tokenizer intact), TopK
    /// against the vocabulary, and images (called from <see cref="PromptRenderer.Render"/>). Returns the checked images
    /// by their content, in message order.
    /// </summary>
    /// <exception cref="ArgumentException">A message's text holds a lone surrogate or a NUL character, a message holds an image for a text-only model, a file that is not an image, or an image that is not a usable PNG/JPEG; or TopK exceeds the vocabulary.</exception>
    /// <exception cref="NotSupportedException">A message holds an image for a vision model type LocalLlm cannot prompt (not phi3v).</exception>
    public static Dictionary<AIContent, PromptImage> Prompt(ModelInfo model, IReadOnlyList<ChatMessage> messages, ChatOptions? options, bool allowImageFiles = false)
    {
        if (options?.TopK is { } k && k > model.VocabSize)
            throw new ArgumentOutOfRangeException(nameof(options.TopK), k, $"ChatOptions.TopK must be at most the model's vocabulary size, {model.VocabSize} (was {k}).");
        var images = new Dictionary<AIContent, PromptImage>(ReferenceEqualityComparer.Instance);
        int placeholderAt = -1;
        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i] ?? throw new ArgumentException($"messages[{i}] is null; remove it.", nameof(messages));
            foreach (var content in m.Contents)
            {
                switch (content)
                {
                    case TextContent text:
                        Text(text.Text, nameof(messages), $"messages[{i}] (text)");
                        if (placeholderAt < 0 && text.Text is { } t && PromptImages.PlaceholderPattern().IsMatch(t)) placeholderAt = i;
                        break;
                    case FunctionCallContent call:
                        Text(call.Name, nameof(messages), $"messages[{i}] (tool call name)");
                        if (call.Arguments is not null)
                            foreach (var (name, value) in call.Arguments) Text(name + ArgumentText(value), nameof(messages), $"messages[{i}] (tool call argument '{name}')");
                        break;
                    case FunctionResultContent result when result.Result is string s: Text(s, nameof(messages), $"messages[{i}] (tool result)"); break;
                    case DataContent or UriContent:
                        images[content] = Image(model, content, i, allowImageFiles);
                        if (images.Count > MaxImages)
                            throw new ArgumentException($"messages hold more than {MaxImages} images; send at most {MaxImages} per request (each takes up to {PromptImages.ImageTokens(1, 1):N0} prompt tokens).", nameof(messages));
                        break;
                }
            }
        }
        if (images.Count > 0 && placeholderAt >= 0)
            throw new ArgumentException($"messages[{placeholderAt}] has text that looks like an image placeholder (<|image_N|>); with images in the request the processor would read it as one. Remove it: LocalLlm places each image's placeholder where the image is in the message.", nameof(messages));
        return images;
    }

    /// <summary>
    /// An image, audio clip or file (<see cref="DataContent"/>, <see cref="UriContent"/>): for a text-only model it would
    /// reach the model as nothing, so it is refused, never dropped; for a phi3v model it must be a PNG or JPEG of a sane
    /// size, as bytes (or a local file when the client allows it), checked here before the native decoder sees it.
    /// </summary>
    /// <exception cref="ArgumentException">The content cannot be given to this model; the message says why and what to do.</exception>
    /// <exception cref="NotSupportedException">The model's vision type is not one LocalLlm can prompt.</exception>
    public static PromptImage Image(ModelInfo model, AIContent content, int index, bool allowImageFiles)
    {
        const string param = "messages";
        string media = content switch { DataContent d => d.MediaType, UriContent u => u.MediaType, _ => "" };
        bool isImage = media.StartsWith("image/", StringComparison.OrdinalIgnoreCase);
        string where = $"messages[{index}] holds {(isImage ? "an image" : "a file")} ({media})";
        const string fix = "Remove it, or describe it in text.";
        if (!model.HasVisionProcessor)
            throw new ArgumentException($"{where}, but model '{model.Id}' reads text only: it has no vision processor (no \"vision\" section in {Path.Combine(model.Folder, "genai_config.json")}), so it would answer without it. {fix} Or use a vision model (a phi3v folder such as Phi-3.5-vision-instruct).", param);
        if (!PromptImages.SupportedModelTypes.Contains(model.ModelType))
            throw new NotSupportedException($"{where}. Model '{model.Id}' has a vision processor of type '{model.ModelType}', but LocalLlm prompts images only for model types {string.Join(", ", PromptImages.SupportedModelTypes)} (Phi-3-vision, Phi-3.5-vision); the model would answer without it. {fix}");
        if (!isImage)
            throw new ArgumentException($"{where}, but model '{model.Id}' reads text and images (PNG, JPEG) only. {fix}", param);

        byte[] bytes;
        if (content is DataContent data)
        {
            bytes = data.Data.ToArray();
        }
        else
        {
            var uri = ((UriContent)content).Uri;
            if (!uri.IsFile)
                throw new ArgumentException($"{where} by URL ({uri.Scheme}://…); LocalLlm never downloads. Fetch the image and pass its bytes as DataContent.", param);
            if (!allowImageFiles)
                throw new ArgumentException($"{where} as a file URI ({uri.LocalPath}), but reading local files is off. Pass the bytes as DataContent, or set LocalLlmChatClientOptions.AllowImageFiles = true (config LocalLlm:AllowImageFiles) if requests may name files on this machine.", param);
            var file = new FileInfo(uri.LocalPath);
            if (!file.Exists)
                throw new ArgumentException($"{where} as a file URI, but '{file.FullName}' does not exist.", param);
            if (file.Length > MaxImageBytes)
                throw new ArgumentException($"{where}: '{file.FullName}' is {file.Length:N0} bytes; at most {MaxImageBytes:N0} are accepted. Scale it down or compress it.", param);
            bytes = File.ReadAllBytes(file.FullName);
        }
        if (bytes.Length > MaxImageBytes)
            throw new ArgumentException($"{where} of {bytes.Length:N0} bytes; at most {MaxImageBytes:N0} are accepted. Scale it down or compress it.", param);
        if (PromptImages.Format(bytes) is not { } format)
            throw new ArgumentException($"{where} that is not a PNG or JPEG image ({(bytes.Length == 0 ? "it is empty" : "its bytes start with neither signature")}): LocalLlm reads PNG and JPEG only. Convert it.", param);
        if (format == "JPEG" && !PromptImages.HasJpegEnd(bytes))
            throw new ArgumentException($"{where} whose JPEG data has no end-of-image marker: the file is cut. Send the whole image.", param);
        if (PromptImages.Size(bytes) is not { } size)
            throw new ArgumentException($"{where} whose {format} header does not parse (a cut or damaged file). Send the whole image.", param);
        if (size.Width > MaxImageSide || size.Height > MaxImageSide)
            throw new ArgumentException($"{where} of {size.Width} × {size.Height} pixels; at most {MaxImageSide} on a side are accepted. Scale it down (the processor resizes it to at most 16 crops of 336 × 336 anyway).", param);
        if (PromptImages.Normalize(bytes, out string? error) is not { } png)
            throw new ArgumentException($"{where} that does not decode as {format} ({error}): the file is cut or damaged. Send the whole image.", param);
        return new PromptImage(png, format, size.Width, size.Height);
    }

    /// <summary>
    /// A native error while a grammar constrains the answer (llguidance refusing a token the tokenizer produced, seen with
    /// byte-level vocabularies) becomes a <see cref="StructuredOutputException"/>: the request was valid, the constrained
    /// answer failed. Other exceptions are returned unchanged.
    /// </summary>
    public static Exception Translate(Exception e, GenerationSettings settings) =>
        e is OnnxRuntimeGenAIException && settings.Guidance is { } g
            ? new StructuredOutputException($"ONNX Runtime GenAI's grammar engine (llguidance) stopped the {g.Type} answer: {e.Message.Trim()} Retry, relax the constraint, or use a larger model.", "", e)
            : e;

    /// <summary>
    /// Creates the generator, with the request's LoRA adapter active. A grammar or schema that passed our checks may still be one llguidance cannot compile
    /// (an unsupported keyword, a regex feature Rust's regex lacks, a Lark syntax error); that native error becomes an
    /// <see cref="ArgumentException"/> naming the option. Other native errors propagate unchanged.
    /// </summary>
    public static Generator CreateGenerator(LocalModel model, GeneratorParams parameters, GenerationSettings settings)
    {
        try
        {
            var generator = new Generator(model.NativeModel, parameters);
            if (settings.Adapter is { } adapter)
            {
                try { generator.SetActiveAdapter(model.Adapters.Native!, adapter); }
                catch { generator.Dispose(); throw; }
            }
            return generator;
        }
        catch (OnnxRuntimeGenAIException e) when (settings.Guidance is { } g)
        {
            (string option, string what) = g.Type switch
            {
                "regex" => (LocalLlmOptionKeys.RegexGrammar, "regular expression (WithRegexGrammar)"),
                "lark_grammar" => (LocalLlmOptionKeys.LarkGrammar, "Lark grammar (WithLarkGrammar)"),
                _ when settings.JsonOutput => (nameof(ChatOptions.ResponseFormat), "JSON schema (ChatOptions.ResponseFormat)"),
                _ => (nameof(ChatOptions.Tools), "tool parameter schemas (ChatOptions.Tools with ToolMode Required)"),
            };
            throw new ArgumentException($"The {what} was rejected by ONNX Runtime GenAI's grammar compiler (llguidance): {e.Message.Trim()} Fix it or leave it out.", option, e);
        }
    }

    private static void Stops(IList<string>? stops)
    {
        if (stops is null) return;
        const string name = nameof(ChatOptions.StopSequences);
        if (stops.Count > MaxStopSequences)
            throw new ArgumentException($"ChatOptions.StopSequences has {stops.Count} strings; at most {MaxStopSequences} are accepted.", name);
        foreach (string? stop in stops)
        {
            if (string.IsNullOrEmpty(stop)) throw new ArgumentException("ChatOptions.StopSequences contains an empty string; remove it.", name);
            if (stop.Length > MaxStopLength)
                throw new ArgumentException($"ChatOptions.StopSequences has a string of {stop.Length} characters; at most {MaxStopLength} are accepted.", name);
            Text(stop, name, "ChatOptions.StopSequences");
        }
    }

    private static void Extras(AdditionalPropertiesDictionary? extra, int candidates)
    {
        if (extra is null) return;
        if (Extra<double>(extra, LocalLlmOptionKeys.RepetitionPenalty, "WithRepetitionPenalty(p)") is { } rp && (!double.IsFinite(rp) || rp <= 0))
            throw new ArgumentOutOfRangeException(LocalLlmOptionKeys.RepetitionPenalty, rp, $"{LocalLlmOptionKeys.RepetitionPenalty} must be a positive finite number (was {Format(rp)}); 1 is off.");
        if (Extra<int>(extra, LocalLlmOptionKeys.NoRepeatNgramSize, "WithNoRepeatNgramSize(n)") is { } ngram && ngram < 0)
            throw new ArgumentOutOfRangeException(LocalLlmOptionKeys.NoRepeatNgramSize, ngram, $"{LocalLlmOptionKeys.NoRepeatNgramSize} must be ≥ 0 (was {ngram}); 0 is off.");
        if (Extra<int>(extra, LocalLlmOptionKeys.NumBeams, "WithNumBeams(n)") is { } beams && beams is < 1 or > MaxBeams)
            throw new ArgumentOutOfRangeException(LocalLlmOptionKeys.NumBeams, beams, $"{LocalLlmOptionKeys.NumBeams} must be between 1 and {MaxBeams} (was {beams}).");
        if (Extra<double>(extra, LocalLlmOptionKeys.LengthPenalty, "WithLengthPenalty(p)") is { } lp && !double.IsFinite(lp))
            throw new ArgumentOutOfRangeException(LocalLlmOptionKeys.LengthPenalty, lp, $"{LocalLlmOptionKeys.LengthPenalty} must be finite (was {Format(lp)}).");
        Extra<bool>(extra, LocalLlmOptionKeys.EarlyStopping, "WithEarlyStopping()");
        Extra<bool>(extra, LocalLlmOptionKeys.LogProbabilities, "WithLogProbabilities()");
        if (Extra<int>(extra, LocalLlmOptionKeys.MinOutputTokens, "WithMinOutputTokens(n)") is { } min && min < 0)
            throw new ArgumentOutOfRangeException(LocalLlmOptionKeys.MinOutputTokens, min, $"{LocalLlmOptionKeys.MinOutputTokens} must be ≥ 0 (was {min}).");
        if (candidates is < 1 or > MaxCandidates)
            throw new ArgumentOutOfRangeException(LocalLlmOptionKeys.CandidateCount, candidates, $"{LocalLlmOptionKeys.CandidateCount} must be between 1 and {MaxCandidates} (was {candidates}).");

        string? regex = ExtraString(extra, LocalLlmOptionKeys.RegexGrammar, "WithRegexGrammar(pattern)");
        string? lark = ExtraString(extra, LocalLlmOptionKeys.LarkGrammar, "WithLarkGrammar(grammar)");
        if (regex is not null && lark is not null)
            throw new ArgumentException($"Both {LocalLlmOptionKeys.RegexGrammar} and {LocalLlmOptionKeys.LarkGrammar} are set; use one (a Lark grammar can contain regexes).", LocalLlmOptionKeys.LarkGrammar);
        if (regex is not null)
        {
            Grammar(regex, LocalLlmOptionKeys.RegexGrammar);
            try { _ = new Regex(regex, RegexOptions.None, TimeSpan.FromSeconds(1)); }
            catch (ArgumentException e) { throw new ArgumentException($"{LocalLlmOptionKeys.RegexGrammar} is not a valid regular expression: {e.Message}", LocalLlmOptionKeys.RegexGrammar, e); }
            Repetition(regex, LocalLlmOptionKeys.RegexGrammar, LocalLlmOptionKeys.RegexGrammar);
        }
        if (lark is not null)
        {
            Grammar(lark, LocalLlmOptionKeys.LarkGrammar);
            Repetition(lark, LocalLlmOptionKeys.LarkGrammar, LocalLlmOptionKeys.LarkGrammar + " (a regex terminal)");
        }
        if (ExtraString(extra, LocalLlmOptionKeys.Adapter, "WithAdapter(name)") is { } adapter && !IsAdapterName(adapter))
            throw new ArgumentException($"{LocalLlmOptionKeys.Adapter} '{adapter}' is not a valid adapter name: use 1 to 64 letters, digits, '_', '-' or '.'.", LocalLlmOptionKeys.Adapter);
    }

    private static void Grammar(string text, string key)
    {
        if (text.Length == 0) throw new ArgumentException($"{key} is empty; leave it out for unconstrained output.", key);
        if (text.Length > MaxGrammarLength) throw new ArgumentException($"{key} has {text.Length} characters; at most {MaxGrammarLength} are accepted.", key);
        Text(text, key, key);
    }

    /// <summary>A JSON schema llguidance can compile: well-formed for JsonSchema.Net, "type" values it knows, not too large.</summary>
    private static void Schema(JsonElement schema, string option, string what)
    {
        if (schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False))
            throw new ArgumentException($"{what} must be a JSON object (was {schema.ValueKind}).", option);
        string raw = schema.GetRawText();
        if (raw.Length > MaxGrammarLength) throw new ArgumentException($"{what} has {raw.Length} characters; at most {MaxGrammarLength} are accepted.", option);
        Text(raw, option, what);
        foreach (var (path, keyword) in SchemaKeywords(schema, "#"))
        {
            if (keyword.NameEquals("type") && !KnownType(keyword.Value))
                throw new ArgumentException($"{what} has \"type\": {keyword.Value.GetRawText()} at {path}/type; use one of {string.Join(", ", s_schemaTypes)}.", option);
            if (keyword.NameEquals("pattern") && keyword.Value.ValueKind == JsonValueKind.String)
                Repetition(keyword.Value.GetString()!, option, $"{what} has a \"pattern\" at {path} that");
        }
        try
        {
            _ = JsonSchema.FromText(raw);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or FormatException)
        {
            throw new ArgumentException($"{what} is not a valid JSON Schema: {e.Message}", option, e);
        }
    }

    /// <summary>
    /// Every keyword of every schema object in <paramref name="node"/>, with the JSON pointer of its object. Values under
    /// enum, const, default and examples are data, not schemas; names under "properties" are property names, not keywords.
    /// </summary>
    private static IEnumerable<(string Path, JsonProperty Keyword)> SchemaKeywords(JsonElement node, string path)
    {
        if (node.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var item in node.EnumerateArray())
                foreach (var found in SchemaKeywords(item, $"{path}/{i++}")) yield return found;
        }
        if (node.ValueKind != JsonValueKind.Object) yield break;
        bool names = path.EndsWith("/properties", StringComparison.Ordinal);
        foreach (var p in node.EnumerateObject())
        {
            if (!names) yield return (path, p);
            if (!names && p.Name is "enum" or "const" or "default" or "examples") continue;
            foreach (var found in SchemaKeywords(p.Value, path + "/" + p.Name)) yield return found;
        }
    }

    /// <summary>A "type" value llguidance knows: one of the seven JSON types, or an array of them.</summary>
    private static bool KnownType(JsonElement type) => type.ValueKind switch
    {
        JsonValueKind.String => s_schemaTypes.Contains(type.GetString()!),
        JsonValueKind.Array => type.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String && s_schemaTypes.Contains(t.GetString()!)),
        _ => false,
    };

    private static void Tools(IList<AITool> tools)
    {
        const string option = nameof(ChatOptions.Tools);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tool in tools)
        {
            if (tool is null) throw new ArgumentException("ChatOptions.Tools contains null; remove it.", option);
            if (tool is not AIFunctionDeclaration f) continue;
            if (!Name().IsMatch(f.Name ?? ""))
                throw new ArgumentException($"ChatOptions.Tools: tool name '{f.Name}' is not valid: use 1 to 64 letters, digits, '_', '-' or '.'.", option);
            if (!names.Add(f.Name!)) throw new ArgumentException($"ChatOptions.Tools: tool name '{f.Name}' is declared twice; tool names must be unique.", option);
            if (f.Description is { } d) Text(d, option, $"ChatOptions.Tools: the description of tool '{f.Name}'");
            Schema(f.JsonSchema, option, $"ChatOptions.Tools: the parameter schema of tool '{f.Name}'");
        }
    }

    /// <summary>A tool-call argument's text: a string, or a JSON string element (whose escaped lone surrogate only shows when read).</summary>
    private static string? ArgumentText(object? value)
    {
        if (value is string s) return s;
        if (value is not JsonElement { ValueKind: JsonValueKind.String } e) return null;
        try { return e.GetString(); }
        catch (InvalidOperationException) { return Unreadable; } // not valid UTF-16: Text reports it as a lone surrogate
    }

    private const string Unreadable = "\ud800";

    /// <summary>Text that reaches native code as UTF-8 must be valid UTF-16 (no lone surrogate) and NUL-free (a C string ends there).</summary>
    private static void Text(string? text, string option, string what)
    {
        if (string.IsNullOrEmpty(text)) return;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\0')
                throw new ArgumentException($"{what} contains a NUL character (U+0000) at index {i}; remove it: native code would cut the text there.", option);
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            if (char.IsSurrogate(c))
                throw new ArgumentException($"{what} contains a lone UTF-16 surrogate (\\u{(int)c:x4}) at index {i}; send valid Unicode text.", option);
        }
    }

    /// <summary>A typed extra: null when absent; a value that is present but not a <typeparamref name="T"/> is an error, not silently ignored.</summary>
    private static T? Extra<T>(AdditionalPropertiesDictionary? extra, string key, string helper) where T : struct
    {
        if (extra is null || !extra.TryGetValue(key, out object? raw) || raw is null) return null;
        if (extra.TryGetValue(key, out T value)) return value;
        throw new ArgumentException($"AdditionalProperties['{key}'] must be a {typeof(T).Name} (was {raw.GetType().Name} '{raw}'); set it with options.{helper}.", key);
    }

    private static string? ExtraString(AdditionalPropertiesDictionary extra, string key, string helper)
    {
        if (!extra.TryGetValue(key, out object? raw) || raw is null) return null;
        return raw as string ?? throw new ArgumentException($"AdditionalProperties['{key}'] must be a string (was {raw.GetType().Name}); set it with options.{helper}.", key);
    }

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
