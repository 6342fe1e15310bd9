namespace LocalLlm.Bench.Suites;

/// <summary>
/// 1/2/4/8 concurrent streams for raw generators, ORT GenAI's own chat client and LocalLlm with the defaults users get
/// (and LocalLlm with the other batching mode, to show what the engine adds), on a decode-bound workload and a mixed
/// one; then a shared system prompt for 8 users (reused prompt tokens and TTFT against a cold prefill).
/// </summary>
internal sealed class ConcurrencySuite : ISuite
{
    public string Name => "concurrency";

    public string Description => "1–8 concurrent streams (decode-bound and mixed) and a shared system prompt";

    private sealed record Workload(string Name, string Key, int PromptTokens, int NewTokens);

    public async Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        BenchModel bm = context.Models.Primary();
        int reps = context.Reps(3);
        int[] streams = context.Quick ? [1, 2] : [1, 2, 4, 8];
        Workload[] workloads = context.Quick
            ? [new("decode-bound", "decode", 8, 16), new("mixed", "mixed", 32, 8)]
            : [new("decode-bound", "decode", 16, 128), new("mixed", "mixed", 128, 64)];
        using var model = new Model(bm.Folder);
        using var tokenizer = new Tokenizer(model);

        // Every engine prefills the same tokens: the folder's chat template over the prompt, which LocalLlm applies itself
        // and the raw loop and ORT GenAI's own client (one Generator per call, no queue, exact length) are given.
        using var ortClient = new OnnxRuntimeGenAIChatClient(model, ownsModel: false, new OnnxRuntimeGenAIChatClientOptions
        {
            PromptFormatter = (messages, _) => RawLoopRunner.Template(tokenizer, messages.Last().Text),
        });
        // LocalLlm as an app gets it from AddLocalLlm: default options. The other batching mode is measured next to it.
        var defaults = new LocalLlmChatClientOptions();
        BatchingMode other = defaults.Batching == BatchingMode.Off ? BatchingMode.Auto : BatchingMode.Off;
        using var localLlm = new LocalLlmEngine(bm.Folder, defaults);
        using var otherMode = new LocalLlmEngine(bm.Folder, new LocalLlmChatClientOptions { Batching = other });
        IGenerationRunner localRunner = localLlm.Runner(), otherRunner = otherMode.Runner($"LocalLlmChatClient, Batching {other}");
        var engines = new List<(string Name, Func<IGenerationRunner> Create)>
        {
            ("raw ORT GenAI generators, one thread each", () => new RawLoopRunner(model, tokenizer, SearchSettings.Greedy, applyChatTemplate: true)),
            ("OnnxRuntimeGenAIChatClient (ORT)", () => new ChatClientRunner("OnnxRuntimeGenAIChatClient (ORT)", ortClient, (p, n) => new ChatOptions
            {
                MaxOutputTokens = n,
                AdditionalProperties = new() { ["min_length"] = PromptBuilder.Count(tokenizer, RawLoopRunner.Template(tokenizer, p)) + n },
            })),
            ($"LocalLlm, default options (Batching {defaults.Batching}, MaxConcurrentRequests {defaults.MaxConcurrentRequests})", () => localRunner),
            ($"LocalLlm, default options but Batching {other}", () => otherRunner),
        };

        var md = new StringBuilder();
        var plots = new List<string>();
        md.AppendLine($"Model: {bm.Name}. Every stream and repetition has its own prompt (a distinct number first), all streams start together; every engine gets it through the folder's chat template (the same prompt tokens); aggregate = all output tokens / wall time; TTFT p95 over every request of every repetition. Warm-up 1, median of {reps}.");
        if (context.Notes.TryGetValue("concurrency", out string? note))
            md.AppendLine(note);
        foreach (Workload w in workloads)
        {
            string prompt = PromptBuilder.ForTokens(tokenizer, w.PromptTokens);
            var table = new MarkdownTable("engine", "streams", "aggregate tok/s median", "vs 1 stream", "TTFT p95 ms", "worst TTFT median ms");
            var series = new List<(string, double[], double[])>();
            foreach ((string name, Func<IGenerationRunner> create) in engines)
            {
                double single = double.NaN;
                var ys = new List<double>();
                foreach (int n in streams)
                {
                    context.Log($"concurrency {w.Name}: {name}, {n} stream(s)");
                    var rates = new List<double>();
                    var worst = new List<double>();
                    var ttfts = new List<double>();
                    for (int rep = -1; rep < reps; rep++) // rep -1 is the warm-up
                    {
                        IGenerationRunner[] runners = Enumerable.Range(0, n).Select(_ => create()).ToArray();
                        long start = Stopwatch.GetTimestamp();
                        int r0 = rep;
                        GenerationSample[] results = await Task.WhenAll(runners.Select((r, i) => Task.Run(() => r.RunAsync($"{r0 + 1}-{i} {prompt}", w.NewTokens, cancellationToken), cancellationToken)));
                        double wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
                        if (rep < 0)
                            continue;
                        rates.Add(results.Sum(r => r.OutputTokens) / wall);
                        worst.Add(results.Max(r => r.TtftMs));
                        ttfts.AddRange(results.Select(r => r.TtftMs));
                    }
                    Summary rate = Summary.Of(rates), worstTtft = Summary.Of(worst), ttft = Summary.Of(ttfts);
                    if (n == 1)
                        single = rate.Median;
                    table.Row(name, n.ToString(), F(rate.Median), F(rate.Median / single, "0.00") + "×", F(ttft.P95), F(worstTtft.Median));
                    ys.Add(rate.Median);
                    context.Findings[$"concurrency.{w.Key}.{name}.{n}"] = rate.Median;
                    context.Findings[$"concurrency.{w.Key}.{name}.{n}.ttft_p95_ms"] = ttft.P95;
                }
                series.Add((name, streams.Select(s => (double)s).ToArray(), [.. ys]));
            }
            string plot = Plots.Lines(context.PlotPath($"concurrency-{w.Key}"), $"Aggregate rate vs concurrent streams ({w.Name}: {w.PromptTokens}-token prompts, {w.NewTokens} new)",
                "concurrent streams", "output tokens/s (all streams)", series, fromZero: true);
            plots.Add(plot);
            md.AppendLine();
            md.AppendLine($"### {w.Name}: {w.PromptTokens}-token prompts, {w.NewTokens} new tokens");
            md.AppendLine();
            md.AppendLine(table.ToString());
            md.AppendLine($"![concurrency {w.Name}]({Path.GetFileName(plot)})");
        }

        md.AppendLine();
        md.AppendLine(await SharedSystemPromptAsync(context, bm, tokenizer, cancellationToken));
        return new SuiteResult("Concurrency: 1–8 streams", md.ToString(), plots);
    }

    /// <summary>
    /// One long system prompt shared by 8 users with different questions, through LocalLlm with default options and with
    /// the other batching mode: a cold first request, then the 8 together. Reports the prompt tokens each reused and
    /// TTFT against the cold prefill.
    /// </summary>
    private static async Task<string> SharedSystemPromptAsync(BenchContext context, BenchModel bm, Tokenizer tokenizer, CancellationToken cancellationToken)
    {
        int systemTokens = context.Quick ? 200 : 1000, users = context.Quick ? 3 : 8, newTokens = 8;
        string system = PromptBuilder.ForTokens(tokenizer, systemTokens);
        var defaults = new LocalLlmChatClientOptions();
        BatchingMode other = defaults.Batching == BatchingMode.Off ? BatchingMode.Auto : BatchingMode.Off;
        var table = new MarkdownTable("engine", "cold TTFT ms", "users", "reused tokens (min / max)", "TTFT median ms", "TTFT p95 ms", "p95 ÷ cold");
        foreach ((string name, LocalLlmChatClientOptions options) in new[] { ($"LocalLlm, default options (Batching {defaults.Batching})", defaults), ($"LocalLlm, Batching {other}", new LocalLlmChatClientOptions { Batching = other }) })
        {
            context.Log($"concurrency shared system prompt: {name}");
            using var engine = new LocalLlmEngine(bm.Folder, options);
            async Task<(double Ttft, long Reused)> Ask(string question)
            {
                long start = Stopwatch.GetTimestamp();
                double first = -1;
                long reused = 0;
                var chat = new ChatOptions { Temperature = 0, MaxOutputTokens = newTokens };
                await foreach (var update in engine.Client.GetStreamingResponseAsync([new(ChatRole.System, system), new(ChatRole.User, question)], chat, cancellationToken))
                {
                    if (first < 0 && !string.IsNullOrEmpty(update.Text)) first = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    foreach (var usage in update.Contents.OfType<UsageContent>()) reused = usage.Details.CachedInputTokenCount ?? 0;
                }
                return (first, reused);
            }
            var cold = await Ask("What is the first question of all?");
            var answers = await Task.WhenAll(Enumerable.Range(0, users).Select(i => Task.Run(() => Ask($"User {i} asks question number {i * 7 + 3}?"), cancellationToken)));
            Summary ttft = Summary.Of(answers.Select(a => a.Ttft));
            table.Row(name, F(cold.Ttft), users.ToString(), $"{answers.Min(a => a.Reused)} / {answers.Max(a => a.Reused)}", F(ttft.Median), F(ttft.P95), F(ttft.P95 / cold.Ttft, "0.00") + "×");
            context.Findings[$"concurrency.shared.{name}.ttft_p95_over_cold"] = ttft.P95 / cold.Ttft;
            context.Findings[$"concurrency.shared.{name}.reused_min"] = answers.Min(a => a.Reused);
        }
        return $"### Shared system prompt: {systemTokens} tokens, {users} users with different questions ({newTokens} new tokens each)\n\n" +
            "A cold request first (its prefill is the reference), then the users together.\n\n" + table;
    }
}
