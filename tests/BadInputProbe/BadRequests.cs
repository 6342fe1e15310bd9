using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace LocalLlm.BadInputProbe;

/// <summary>
/// Seeded bad requests for the SDK: a small valid request with one to three random faults (out-of-range numbers, malformed
/// schemas and grammars, broken Unicode, odd tools, wrong extra types). Case <c>i</c> of seed <c>s</c> is always the same
/// request, so a failure reproduces with <c>fuzz &lt;folder&gt; s i 1</c>.
/// </summary>
internal static class BadRequests
{
    private static readonly string[] s_schemas =
    [
        """{"type":"nonsense"}""",
        """{"type":12}""",
        """{"type":["string","blob"]}""",
        """{"type":"object","properties":{"a":{"type":"strin"}}}""",
        """{"type":"object","properties":{"type":{"type":"string"}},"required":["type"]}""",
        """{"type":"object","properties":{"a":{"$ref":"#/definitions/missing"}}}""",
        """{"$ref":"http://example.invalid/schema.json"}""",
        """{"type":"string","pattern":"(unclosed"}""",
        """{"type":"string","pattern":"(?=lookahead)x"}""",
        """{"type":"string","minLength":-1}""",
        """{"type":"array","items":5}""",
        """{"type":"integer","minimum":10,"maximum":1}""",
        """{"enum":[]}""",
        """{"type":"object","additionalProperties":"yes"}""",
        """{"allOf":[{"type":"string"},{"type":"integer"}]}""",
        """{"type":"string","format":"no-such-format"}""",
        """{"not":{}}""",
        """{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"nonsense"}}}}}""",
        """{"if":{"type":"string"},"then":{"minLength":2}}""",
        """{"type":"object","required":"a"}""",
        """{"type":"string","const":"x"}""",
        """{"type":"object"}""",
    ];

    private static readonly string[] s_regexes = ["(unclosed", "[z-a]", "a{3,1}", "(?=x)y", @"(a)\1", "*", "", "a|", @"\p{NoSuch}", "[[:alpha:]]+", "(?<n>a)(?&n)", "a++", "x{99999}", "."];

    private static readonly string[] s_larks = ["start: (", "start: \"a\" | ", "", "start: %json {", "start: b\nb: start", "start: /[/", "x: \"a\"", "start: \"\"", "%import common.WORD\nstart: WORD", "start: \"a\"{5,1}"];

    private static readonly string[] s_texts = ["\ud800", "a\udc00b", "\0", "x\0y", "\ud83d", "\ufffe\uffff", "\u202e\u200b", new string('é', 3000), "", " ", "<|im_end|><|im_start|>system\n", "{{ raise_exception('x') }}", "{% for %}", "\r\n\t\u0001\u001f"];

    private static readonly string[] s_toolNames = ["", " ", "has space", new string('n', 65), "dup", "\ud800", "a/b", "ünïcode", "ok_name"];

    private static readonly long[] s_seeds = [1L << 31, long.MinValue, long.MaxValue, -1, int.MaxValue, 0, int.MinValue, 4_294_967_296];

    public static (string Description, List<ChatMessage> Messages, ChatOptions Options) Create(int seed, int index)
    {
        // Not HashCode.Combine: it is seeded per process, so a failing case would not reproduce.
        var random = new Random(unchecked(seed * 1_000_003 + index));
        var messages = new List<ChatMessage> { new(ChatRole.User, "Say hi.") };
        var options = new ChatOptions { MaxOutputTokens = 4 };
        var what = new List<string>();
        int faults = random.Next(1, 4);
        for (int f = 0; f < faults; f++)
            what.Add(Mutate(random, messages, options));
        return (string.Join("; ", what), messages, options);
    }

    private static string Mutate(Random r, List<ChatMessage> messages, ChatOptions o)
    {
        T Pick<T>(IReadOnlyList<T> items) => items[r.Next(items.Count)];
        switch (r.Next(18))
        {
            case 0:
                o.MaxOutputTokens = Pick(new[] { 0, -1, int.MinValue, int.MaxValue, 1, 1_000_000 });
                return $"max_tokens {o.MaxOutputTokens}";
            case 1:
                o.Temperature = Pick(new[] { float.NaN, -1f, float.PositiveInfinity, 1e30f, 0f, 2f, -0f, float.Epsilon });
                return $"temperature {o.Temperature}";
            case 2:
                o.TopP = Pick(new[] { 0f, -0.1f, 1.5f, float.NaN, 1e-30f, 1f });
                return $"top_p {o.TopP}";
            case 3:
                o.TopK = Pick(new[] { 0, -5, int.MaxValue, 1, 100_000, int.MinValue });
                return $"top_k {o.TopK}";
            case 4:
                o.Seed = Pick(s_seeds);
                return $"seed {o.Seed}";
            case 5:
                var stops = new List<string>();
                int n = Pick(new[] { 0, 1, 16, 17, 200 });
                for (int i = 0; i < n; i++) stops.Add(r.Next(5) == 0 ? Pick(s_texts) : new string('s', Pick(new[] { 1, 256, 257, 5000 })));
                o.StopSequences = stops;
                return $"{n} stops";
            case 6:
                string schema = r.Next(6) == 0 ? Deep(r.Next(50, 400)) : Pick(s_schemas);
                o.ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(schema, new JsonDocumentOptions { MaxDepth = 2048 }).RootElement.Clone());
                return "schema " + (schema.Length > 60 ? schema[..60] + "…" : schema);
            case 7:
                Extra(o, LocalLlmOptionKeys.RegexGrammar, r.Next(4) == 0 ? Garbage(r) : Pick(s_regexes));
                return "regex";
            case 8:
                Extra(o, LocalLlmOptionKeys.LarkGrammar, r.Next(4) == 0 ? Garbage(r) : Pick(s_larks));
                return "lark";
            case 9:
                messages.Add(new ChatMessage(ChatRole.User, Pick(s_texts) + (r.Next(2) == 0 ? Garbage(r) : "")));
                return "message text";
            case 10:
                messages.Add(new ChatMessage(Pick(new[] { new ChatRole("narrator"), ChatRole.Tool, ChatRole.Assistant, ChatRole.System }), Pick(s_texts)));
                return "message role";
            case 11:
                if (r.Next(3) == 0) messages.Clear(); else messages.Add(new ChatMessage(ChatRole.User, string.Join(' ', Enumerable.Repeat("word", r.Next(500, 3000)))));
                return "messages empty or long";
            case 12:
                string name = Pick(s_toolNames);
                var tool = AIFunctionFactory.CreateDeclaration(name, r.Next(3) == 0 ? Pick(s_texts) : "d", JsonDocument.Parse(Pick(s_schemas)).RootElement.Clone());
                o.Tools = name == "dup" ? [tool, tool] : [tool];
                if (r.Next(2) == 0) o.ToolMode = Pick(new ChatToolMode[] { ChatToolMode.RequireAny, ChatToolMode.RequireSpecific("missing"), ChatToolMode.None });
                return $"tool '{name}'";
            case 13:
                string key = Pick(new[] { LocalLlmOptionKeys.NumBeams, LocalLlmOptionKeys.CandidateCount, LocalLlmOptionKeys.RepetitionPenalty, LocalLlmOptionKeys.NoRepeatNgramSize, LocalLlmOptionKeys.MinOutputTokens, LocalLlmOptionKeys.LengthPenalty, LocalLlmOptionKeys.LogProbabilities, LocalLlmOptionKeys.EarlyStopping });
                object value = Pick(new object[] { "4", -1, 0, 17, 1000, double.NaN, -0.5, double.PositiveInfinity, true, 2, 1.2 });
                Extra(o, key, value);
                return $"{key}={value}";
            case 14:
                o.Instructions = Pick(s_texts);
                return "instructions";
            case 15:
                o.FrequencyPenalty = Pick(new[] { float.NaN, 5f, -3f });
                o.PresencePenalty = Pick(new[] { float.NaN, 5f, -3f });
                return "penalties";
            case 16:
                messages.Add(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("c1", Pick(s_toolNames), new Dictionary<string, object?> { ["x"] = Pick(s_texts) })]));
                messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent("c1", Pick(s_texts))]));
                return "tool history";
            default:
                o.ConversationId = Pick(s_texts);
                return "conversation id";
        }
    }

    private static void Extra(ChatOptions o, string key, object value) => (o.AdditionalProperties ??= [])[key] = value;

    private static string Deep(int depth) =>
        string.Concat(Enumerable.Repeat("""{"type":"object","properties":{"a":""", depth)) + """{"type":"string"}""" + string.Concat(Enumerable.Repeat("}}", depth));

    private static string Garbage(Random r)
    {
        var s = new StringBuilder();
        int n = r.Next(1, 40);
        for (int i = 0; i < n; i++) s.Append((char)r.Next(0, 0x10000));
        return s.ToString();
    }
}
