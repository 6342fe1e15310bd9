using System.Diagnostics;
using System.Globalization;
using LocalLlm;
using LocalLlm.ModelForge;
using Microsoft.Extensions.AI;
using Microsoft.ML.OnnxRuntimeGenAI;

// KV-cache reuse and concurrency benchmarks on a Qwen2.5-0.5B-shaped int4 GQA folder (random weights).
// Usage: dotnet run --project eng/KvBench -c Release -- [turns|streams|alloc|all] [--reps N] [--history N]
string what = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "all";
int reps = Option("--reps", 5);
int historyTokens = Option("--history", 2000);
long budget = 512L << 20;

Console.WriteLine("forging / finding the Qwen2.5-0.5B-shaped int4 GQA folder ...");
string folder = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Random, Shape = LocalLlm.ModelForge.ModelShape.Qwen05B, Precision = WeightPrecision.Int4, Attention = AttentionKind.GroupQueryAttention });
using var model = LocalModel.Load(folder);
Console.WriteLine($"{model.Info.Id}: {model.Info.Layers} layers, KV {model.Info.KvBytesPerToken} B/token ({model.Info.KvCachePrecision}), weights {Mb(model.Info.WeightBytes)} MB, shared buffer {model.Info.SharesKvBuffer}");
Console.WriteLine($"machine: {Environment.ProcessorCount} cores (shared with other work: numbers are noisy), reps {reps}, medians");

if (what is "alloc" or "all") Allocation();
if (what is "turns" or "all") await Turns();
if (what is "streams" or "all") await Streams();
Console.WriteLine($"peak RSS {Mb(PeakRss())} MB; weights {Mb(model.Info.WeightBytes)} MB + KV budget {Mb(budget)} MB + 200 MB = {Mb(model.Info.WeightBytes + budget + (200L << 20))} MB");
return;

// RSS growth of a generator with a shared KV buffer, by max_length: is the buffer allocated up front?
void Allocation()
{
    Console.WriteLine("\n## allocation: RSS growth per generator (8 prompt tokens appended) by max_length");
    foreach (int maxLength in new[] { 512, 4096, 16384 })
    {
        var growth = new List<double>();
        for (int r = 0; r < 3; r++)
        {
            GC.Collect();
            long before = Rss();
            using var p = new GeneratorParams(model.NativeModel);
            p.SetSearchOption("max_length", maxLength);
            using var g = new Generator(model.NativeModel, p);
            g.AppendTokens(new int[] { 72, 101, 108, 108, 111, 32, 119, 111 });
            growth.Add(Mb(Rss() - before));
        }
        Console.WriteLine($"max_length {maxLength,6}: RSS +{Median(growth):F0} MB (KvBytesPerToken × max_length = {Mb(model.Info.KvBytesPerToken * maxLength):F0} MB)");
    }
}

async Task Turns()
{
    Console.WriteLine($"\n## turns: TTFT of the next turn after a {historyTokens}-token history, reuse vs full prefill");
    using var reusing = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { KvCacheBudgetBytes = budget });
    using var fresh = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { EnableKvCacheReuse = false, KvCacheBudgetBytes = budget });
    var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 8 };
    var withReuse = new List<double>();
    var without = new List<double>();
    var reusedTokens = new List<double>();
    for (int r = -1; r < reps; r++) // r = -1 warms up
    {
        var history = new List<ChatMessage> { new(ChatRole.User, Text(historyTokens, seed: r + 10)) };
        history.AddRange((await reusing.GetResponseAsync(history, options)).Messages);
        history.Add(new ChatMessage(ChatRole.User, "And then what happened next?"));
        var a = (await reusing.GetResponseAsync(history, options)).GetGenerationStats()!;
        var b = (await fresh.GetResponseAsync(history, options)).GetGenerationStats()!;
        if (r < 0) continue;
        withReuse.Add(a.TimeToFirstToken.TotalMilliseconds);
        without.Add(b.TimeToFirstToken.TotalMilliseconds);
        reusedTokens.Add(a.ReusedPromptTokens);
        Console.WriteLine($"  rep {r + 1}: prompt {a.PromptTokens} tokens, reused {a.ReusedPromptTokens}; TTFT reuse {a.TimeToFirstToken.TotalMilliseconds:F1} ms, full prefill {b.TimeToFirstToken.TotalMilliseconds:F1} ms");
    }
    Console.WriteLine($"turn TTFT median: reuse {Median(withReuse):F1} ms, full prefill {Median(without):F1} ms, ratio {Median(withReuse) / Median(without):F3} (target <= 0.1); reused {Median(reusedTokens):F0} tokens");
}

async Task Streams()
{
    const int promptTokens = 128, newTokens = 64;
    Console.WriteLine($"\n## streams: aggregate decode tok/s with N concurrent requests ({promptTokens}-token prompts, {newTokens} new tokens, no reuse between them)");
    foreach (var (label, maxConcurrent) in new[] { ("serialised (MaxConcurrentRequests 1)", 1), ("concurrent generators (MaxConcurrentRequests 8)", 8) })
    {
        using var client = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { MaxConcurrentRequests = maxConcurrent, KvCacheBudgetBytes = budget, EnableKvCacheReuse = false });
        double single = 0;
        foreach (int n in new[] { 1, 2, 4, 8 })
        {
            var rates = new List<double>();
            var p95 = new List<double>();
            for (int r = -1; r < reps; r++)
            {
                var clock = Stopwatch.StartNew();
                var results = await Task.WhenAll(Enumerable.Range(0, n).Select(i => Task.Run(() =>
                    client.GetResponseAsync([new ChatMessage(ChatRole.User, Text(promptTokens, seed: 1000 * r + i))], new ChatOptions { Temperature = 0, MaxOutputTokens = newTokens }))));
                double wall = clock.Elapsed.TotalSeconds;
                if (r < 0) continue;
                rates.Add(results.Sum(x => x.GetGenerationStats()!.OutputTokens) / wall);
                var ttfts = results.Select(x => (x.GetGenerationStats()!.QueueTime + x.GetGenerationStats()!.TimeToFirstToken).TotalMilliseconds).Order().ToList();
                p95.Add(ttfts[(int)Math.Ceiling(0.95 * ttfts.Count) - 1]);
            }
            double rate = Median(rates);
            if (n == 1) single = rate;
            Console.WriteLine($"{label}, {n} streams: {rate:F1} tok/s aggregate, {rate / single:F2}× single stream, p95 TTFT (queue + prefill) {Median(p95):F0} ms");
        }
    }
}

// Printable ASCII: one byte-level token per character.
static string Text(int tokens, int seed)
{
    var random = new Random(seed);
    string[] words = ["the", "sea", "ship", "light", "keeper", "winter", "bread", "storm", "rope", "harbour", "night", "gull"];
    var sb = new System.Text.StringBuilder();
    while (sb.Length < tokens) sb.Append(words[random.Next(words.Length)]).Append(' ');
    return sb.ToString(0, tokens);
}

static double Median(List<double> xs)
{
    var s = xs.Order().ToList();
    return s.Count == 0 ? double.NaN : s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
}

static long Rss() => ReadStatus("VmRSS:");

static long PeakRss() => ReadStatus("VmHWM:");

static long ReadStatus(string key)
{
    foreach (string line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith(key, StringComparison.Ordinal))
            return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    return 0;
}

static double Mb(long bytes) => bytes / (1024.0 * 1024.0);

int Option(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
