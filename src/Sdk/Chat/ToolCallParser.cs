using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace LocalLlm;

/// <summary>
/// Turns a model's tool-call text into <see cref="FunctionCallContent"/> for the common families:
/// ChatML/Qwen/Hermes <c>&lt;tool_call&gt;{json}&lt;/tool_call&gt;</c>, Phi-4-mini <c>&lt;|tool_call|&gt;[...]&lt;|/tool_call|&gt;</c>,
/// and Llama 3.1 JSON (<c>{"name":…,"parameters":…}</c>, optionally after <c>&lt;|python_tag|&gt;</c>).
/// </summary>
internal static partial class ToolCallParser
{
    [GeneratedRegex(@"<tool_call>\s*(?<json>.*?)\s*(?:</tool_call>|$)", RegexOptions.Singleline)]
    private static partial Regex HermesCall();

    [GeneratedRegex(@"<\|tool_call\|>\s*(?<json>.*?)\s*(?:<\|/tool_call\|>|$)", RegexOptions.Singleline)]
    private static partial Regex PhiCall();

    /// <summary>
    /// Parses calls; returns null when the text is not a well-formed call, or names a tool not in <paramref name="declared"/>
    /// (any JSON object with a "name" would otherwise become a call): the caller then shows it as text.
    /// </summary>
    public static IReadOnlyList<FunctionCallContent>? Parse(string text, IReadOnlySet<string> declared)
    {
        var calls = new List<FunctionCallContent>();
        string trimmed = text.Trim();
        if (trimmed.StartsWith("<tool_call>", StringComparison.Ordinal))
        {
            foreach (Match m in HermesCall().Matches(trimmed))
                if (!AddFromJson(m.Groups["json"].Value, calls)) return null;
        }
        else if (trimmed.StartsWith("<|tool_call|>", StringComparison.Ordinal))
        {
            foreach (Match m in PhiCall().Matches(trimmed))
                if (!AddFromJson(m.Groups["json"].Value, calls)) return null;
        }
        else
        {
            string json = trimmed.StartsWith("<|python_tag|>", StringComparison.Ordinal) ? trimmed["<|python_tag|>".Length..] : trimmed;
            foreach (string part in json.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                if (!AddFromJson(part, calls)) return null;
        }
        return calls.Count > 0 && calls.TrueForAll(c => declared.Contains(c.Name)) ? calls : null;
    }

    private static bool AddFromJson(string json, List<FunctionCallContent> calls)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in root.EnumerateArray())
                    if (!AddOne(item, calls)) return false;
                return true;
            }
            return AddOne(root, calls);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool AddOne(JsonElement call, List<FunctionCallContent> calls)
    {
        if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
            return false;
        var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (call.TryGetProperty("arguments", out var args) || call.TryGetProperty("parameters", out args))
        {
            if (args.ValueKind == JsonValueKind.String) // some models emit arguments as a JSON string
            {
                try
                {
                    using var inner = JsonDocument.Parse(args.GetString()!);
                    args = inner.RootElement.Clone();
                }
                catch (JsonException) { return false; }
            }
            if (args.ValueKind != JsonValueKind.Object) return false;
            foreach (var p in args.EnumerateObject()) arguments[p.Name] = p.Value.Clone();
        }
        calls.Add(new FunctionCallContent("call_" + Guid.NewGuid().ToString("N")[..12], name.GetString()!, arguments));
        return true;
    }
}
