using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace LocalLlm.Samples.Tests.WebChat;

/// <summary>
/// 1,200 seeded bad requests against the real web chat on Kestrel (127.0.0.1, the demo model): a valid body with one to
/// three random faults (a known or unknown field set to a random type or extreme value, a field removed, broken
/// messages, escaped lone surrogates and NULs) or a corrupted byte stream (truncated, invalid UTF-8, random bytes, deep
/// nesting, oversized). Every answer is 2xx or an OpenAI-shaped 4xx: no 5xx (streams included: no server_error event),
/// no dropped connection, none slower than 30 s. A failure names the seed and case index; set LOCALLLM_FUZZ_SEED to explore.
/// </summary>
public sealed class HttpFuzzTests(WebChatServer server, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<WebChatServer>
{
    private const int Count = 1200;

    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("LOCALLLM_FUZZ_SEED"), out int s) ? s : 16;

    private const string Lone = "@@LONE@@", Nul = "@@NUL@@";

    private static readonly string[] s_fields =
    [
        "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "seed", "stop", "n", "stream",
        "stream_options", "response_format", "tools", "tool_choice", "logprobs", "top_logprobs", "logit_bias", "frequency_penalty",
        "presence_penalty", "localllm_preset", "user", "no_such_field",
    ];

    [Fact]
    public async Task Fuzz_1200SeededBadBodies_No5xxNoHangs()
    {
        var failures = new List<string>();
        var statuses = new Dictionary<int, int>();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < Count; i++)
        {
            // Not HashCode.Combine: it is seeded per process, so a failing case would not reproduce.
            var random = new Random(unchecked(Seed * 1_000_003 + i));
            byte[] body = Create(random, out string what);
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new("application/json");
                using var response = await server.Http.PostAsync("/v1/chat/completions", content, limit.Token);
                string text = await response.Content.ReadAsStringAsync(limit.Token);
                int status = (int)response.StatusCode;
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
                if (status >= 500 || text.Contains("\"server_error\"", StringComparison.Ordinal))
                    failures.Add($"case {Seed}/{i} [{what}]: {status} {Trim(text)}");
                else if (status >= 400 && !text.StartsWith("{\"error\":{\"message\":", StringComparison.Ordinal))
                    failures.Add($"case {Seed}/{i} [{what}]: {status} is not OpenAI-shaped: {Trim(text)}");
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
            {
                failures.Add($"case {Seed}/{i} [{what}]: {(limit.IsCancellationRequested ? "no answer in 30 s" : e.GetType().Name + ": " + e.Message)}");
            }
        }

        output.WriteLine($"seed {Seed}: {Count} cases in {clock.Elapsed.TotalSeconds:F1} s; statuses {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"))}");
        Assert.True(failures.Count == 0, $"seed {Seed}: {failures.Count} of {Count} failed:\n{string.Join('\n', failures.Take(20))}");
        // The corpus reaches both sides, and the server still answers a good request.
        Assert.True(statuses.Where(s => s.Key is >= 400 and < 500).Sum(s => s.Value) > Count / 2, string.Join(", ", statuses));
        Assert.True(statuses.GetValueOrDefault(200) > Count / 20, string.Join(", ", statuses));
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), $"the run took {clock.Elapsed}");
        using var ok = await server.Http.PostAsync("/v1/chat/completions", new StringContent("""{"messages":[{"role":"user","content":"still here?"}],"max_tokens":4}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    private static string Trim(string s) => s.Length > 300 ? s[..300] + "…" : s;

    private static byte[] Create(Random r, out string what)
    {
        if (r.Next(5) == 0) return Bytes(r, out what);
        var root = new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Say something short." }),
            ["max_tokens"] = 8,
        };
        var faults = new List<string>();
        for (int f = r.Next(1, 4); f > 0; f--) faults.Add(Mutate(r, root));
        what = string.Join("; ", faults);
        string json = root.ToJsonString().Replace(Lone, "\\ud800", StringComparison.Ordinal).Replace(Nul, "\\u0000", StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(json);
    }

    private static string Mutate(Random r, JsonObject root)
    {
        switch (r.Next(4))
        {
            case 0:
                string field = s_fields[r.Next(s_fields.Length)];
                root[field] = Value(r, 0);
                return $"{field}={Trim(root[field]?.ToJsonString() ?? "null")}";
            case 1:
                string removed = s_fields[r.Next(s_fields.Length)];
                root.Remove(removed);
                return "-" + removed;
            case 2:
                var messages = root["messages"] as JsonArray ?? [];
                root["messages"] = messages;
                var message = new JsonObject { ["role"] = Pick(r, ["user", "system", "developer", "assistant", "tool", "wizard", "", Lone]), ["content"] = Value(r, 0) };
                if (r.Next(3) == 0) message["tool_calls"] = Value(r, 0);
                if (r.Next(3) == 0) message["tool_call_id"] = Value(r, 0);
                messages.Add(message);
                return $"message {Trim(message.ToJsonString())}";
            default:
                var special = Pick(r,
                [
                    """{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"nonsense"}}}""",
                    """{"type":"json_schema","json_schema":{"schema":{"type":"object","properties":{"a":{"type":"string","pattern":"(unclosed"}}}}}""",
                    """{"type":"json_object"}""",
                    """[{"type":"function","function":{"name":"get weather","parameters":{"type":"nonsense"}}}]""",
                    """[{"type":"function","function":{"name":"ok","parameters":{"type":"object"}}},{"type":"function","function":{"name":"ok"}}]""",
                    """{"type":"function","function":{"name":"missing"}}""",
                ]);
                string key = special.StartsWith('[') ? "tools" : special.Contains("\"function\"", StringComparison.Ordinal) && !special.Contains("json_schema", StringComparison.Ordinal) ? "tool_choice" : "response_format";
                root[key] = JsonNode.Parse(special);
                if (key == "tool_choice") root["tools"] = JsonNode.Parse("""[{"type":"function","function":{"name":"ok"}}]""");
                return $"{key}={Trim(special)}";
        }
    }

    private static JsonNode? Value(Random r, int depth) => r.Next(depth > 2 ? 9 : 12) switch
    {
        0 => null,
        1 => JsonValue.Create(Pick(r, [0L, -1L, 1L, int.MaxValue, int.MinValue, 1L << 31, long.MaxValue, long.MinValue, 100_000L])),
        2 => JsonValue.Create(Pick(r, [0.0, -0.5, 1.5, 1e39, -1e300, 5e-324, 2.0])),
        3 => JsonValue.Create(r.Next(2) == 0),
        4 => JsonValue.Create(Pick(r, ["", "text", Lone, "a" + Lone + "b", Nul, "balanced", "json_schema", "function", "auto", "required", "none", new string('x', 5000)])),
        5 => JsonValue.Create(Garbage(r)),
        6 => JsonValue.Create(string.Join(' ', Enumerable.Repeat("word", r.Next(100, 3000)))),
        7 => JsonValue.Create(Pick(r, ["user", "system", "assistant", "tool", "text", "image_url"])),
        8 => new JsonObject { ["type"] = Pick(r, ["text", "image_url", "json_schema", "function", Lone]), ["text"] = Value(r, depth + 1) },
        9 => new JsonArray([.. Enumerable.Range(0, r.Next(0, 4)).Select(_ => Value(r, depth + 1))]),
        10 => new JsonObject { ["name"] = Value(r, depth + 1), ["function"] = Value(r, depth + 1), ["schema"] = Value(r, depth + 1), ["include_usage"] = Value(r, depth + 1) },
        _ => new JsonArray([.. Enumerable.Range(0, r.Next(1, 300)).Select(_ => (JsonNode)new JsonObject { ["role"] = "user", ["content"] = "hi" })]),
    };

    private static byte[] Bytes(Random r, out string what)
    {
        byte[] valid = Encoding.UTF8.GetBytes("""{"messages":[{"role":"user","content":"Say something short."}],"max_tokens":8,"stream":true}""");
        switch (r.Next(7))
        {
            case 0: what = "truncated"; return valid[..r.Next(valid.Length)];
            case 1:
                what = "invalid UTF-8 in content";
                int at = Array.IndexOf(valid, (byte)'S');
                return [.. valid[..at], (byte)r.Next(0x80, 0x100), (byte)r.Next(0xC0, 0x100), .. valid[at..]];
            case 2: what = "random bytes"; var junk = new byte[r.Next(1, 2000)]; r.NextBytes(junk); return junk;
            case 3: what = "deep nesting"; int depth = r.Next(60, 5000); return Encoding.UTF8.GetBytes(new string('[', depth) + new string(']', depth));
            case 4: what = "over 1 MiB"; return Encoding.UTF8.GetBytes("{\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('x', 1_100_000) + "\"}]}");
            case 5: what = "empty"; return [];
            default: what = "BOM then body"; return [0xEF, 0xBB, 0xBF, .. valid];
        }
    }

    private static T Pick<T>(Random r, T[] items) => items[r.Next(items.Length)];

    private static string Garbage(Random r)
    {
        var s = new StringBuilder();
        for (int i = r.Next(1, 30); i > 0; i--)
        {
            char c = (char)r.Next(0x20, 0xD7FF); // well-formed here; lone surrogates come from the @@LONE@@ marker
            s.Append(c);
        }
        return s.ToString();
    }
}
