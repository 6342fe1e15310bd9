using System.CommandLine;
using System.Globalization;
using LocalLlm.ModelForge;

namespace LocalLlm.Bench.Decoding;

/// <summary>
/// `bench decoding-cost`: the cost of each decoding strategy relative to greedy, through LocalLlmChatClient on one
/// model in one run: greedy, top-k/top-p sampling, beam search (4), beam search returning 4, and 4 sampled
/// candidates. Every strategy generates exactly the same number of tokens (min = max output tokens), so the ratio
/// is the price of the strategy, not of a longer answer. Medians of several repetitions after a warm-up.
/// </summary>
internal static class DecodingCostCommand
{
    private sealed record Strategy(string Name, Func<ChatOptions> Options);

    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Model folder; default: a forged Qwen2.5-0.5B-shaped int4 GQA random folder (about 0.9 GB, cached)." };
        var prompt = new Option<int>("--prompt-tokens") { DefaultValueFactory = _ => 128, Description = "Approximate prompt length (characters of a byte-level prompt)." };
        var tokens = new Option<int>("--new-tokens") { DefaultValueFactory = _ => 32, Description = "Output tokens per answer (forced: min = max)." };
        var reps = new Option<int>("--reps") { DefaultValueFactory = _ => 3, Description = "Measured repetitions per strategy (after one warm-up)." };
        var output = new Option<string?>("--out") { Description = "Also write the markdown table to this file." };
        var command = new Command("decoding-cost", "Cost of greedy, sampling, beam search and candidates relative to greedy, through LocalLlmChatClient.") { model, prompt, tokens, reps, output };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(model), parse.GetValue(prompt), parse.GetValue(tokens), parse.GetValue(reps), parse.GetValue(output), ct));
        return command;
    }

    private static async Task<int> RunAsync(string? folder, int promptTokens, int newTokens, int reps, string? outFile, CancellationToken ct)
    {
        folder ??= ForgedModels.GetOrCreate(new ForgeOptions
        {
            Design = ModelDesign.Random, Shape = ModelShape.Qwen05B, Precision = WeightPrecision.Int4,
            Attention = AttentionKind.GroupQueryAttention, ContextLength = 8192,
        });
        using var localModel = LocalModel.Load(folder);
        using var client = new LocalLlmChatClient(localModel);
        ChatMessage[] messages = [new(ChatRole.User, Prompt(promptTokens))];
        ChatOptions Base() => new ChatOptions { MaxOutputTokens = newTokens }.WithMinOutputTokens(newTokens);
        Strategy[] strategies =
        [
            new("greedy", () => { var o = Base(); o.Temperature = 0; return o; }),
            new("sampling T0.8 top-k 50 top-p 0.9", () => Sampled(Base())),
            new("beam search, 4 beams", () => Base().WithNumBeams(4)),
            new("beam search, 4 beams, 4 returned", () => Base().WithNumBeams(4).WithCandidateCount(4)),
            new("4 sampled candidates", () => Sampled(Base()).WithCandidateCount(4)),
        ];

        var medians = new List<(string Name, double Ms, int Messages, long Tokens)>();
        foreach (var s in strategies)
        {
            Console.Error.WriteLine($"decoding-cost: {s.Name}");
            await client.GetResponseAsync(messages, s.Options(), ct); // warm-up
            var times = new List<double>();
            ChatResponse? last = null;
            for (int i = 0; i < reps; i++)
            {
                var clock = Stopwatch.StartNew();
                last = await client.GetResponseAsync(messages, s.Options(), ct);
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            medians.Add((s.Name, times[times.Count / 2], last!.Messages.Count, last.Usage?.OutputTokenCount ?? 0));
        }

        double greedy = medians[0].Ms;
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"Model: {Path.GetFileName(folder.TrimEnd('/'))} ({localModel.Info.Layers} layers, vocab {localModel.Info.VocabSize}, {localModel.Info.Precision}); prompt {localModel.Encode(messages[0].Text).Length} tokens + template; {newTokens} new tokens per answer; median of {reps} after 1 warm-up; {Environment.ProcessorCount} cores.");
        md.AppendLine();
        md.AppendLine("| strategy | answers | median ms | cost vs greedy |");
        md.AppendLine("| --- | --- | --- | --- |");
        foreach (var (name, ms, count, _) in medians)
            md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {count} | {ms:F0} | {ms / greedy:F2}× |");
        Console.WriteLine(md.ToString());
        if (outFile is not null) await File.WriteAllTextAsync(outFile, md.ToString(), ct);
        return 0;
    }

    private static ChatOptions Sampled(ChatOptions o)
    {
        o.Temperature = 0.8f;
        o.TopK = 50;
        o.TopP = 0.9f;
        o.Seed = 7;
        return o;
    }

    private static string Prompt(int tokens)
    {
        const string words = "local models answer questions about the weather and the price of bread while the cache keeps every key and value ";
        var sb = new StringBuilder();
        while (sb.Length < tokens) sb.Append(words);
        return sb.ToString(0, tokens);
    }
}
