namespace LocalLlm.Bench.Suites;

/// <summary>1–8 concurrent streams: aggregate tokens/s and worst TTFT.</summary>
internal sealed class ConcurrencySuite : ISuite
{
    public string Name => "concurrency";

    public string Description => "1–8 concurrent streams";

    public async Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        BenchModel bm = context.Models.Primary();
        int promptTokens = context.Quick ? 32 : 128, newTokens = context.Quick ? 8 : 16, reps = context.Reps(2);
        int[] streams = context.Quick ? [1, 2] : [1, 2, 4, 8];
        using var model = new Model(bm.Folder);
        using var tokenizer = new Tokenizer(model);
        string prompt = PromptBuilder.ForTokens(tokenizer, promptTokens);

        // ORT GenAI's own client (one Generator per call, no queue) gets the raw loop's text and exact length.
        using var ortClient = new OnnxRuntimeGenAIChatClient(model, ownsModel: false, new OnnxRuntimeGenAIChatClientOptions
        {
            PromptFormatter = (messages, _) => messages.Last().Text,
        });
        var engines = new List<(string Name, Func<IGenerationRunner> Create)>
        {
            ("raw ORT GenAI generators, one thread each", () => new RawLoopRunner(model, tokenizer, SearchSettings.Greedy)),
            ("OnnxRuntimeGenAIChatClient (ORT)", () => new ChatClientRunner("OnnxRuntimeGenAIChatClient (ORT)", ortClient, (p, n) => new ChatOptions
            {
                MaxOutputTokens = n,
                AdditionalProperties = new() { ["min_length"] = PromptBuilder.Count(tokenizer, p) + n },
            })),
        };
        // LocalLlm as an app gets it from AddLocalLlm: default options (admission, KV reuse, no batching).
        using var localLlm = new LocalLlmEngine(bm.Folder, new LocalLlmChatClientOptions());
        IGenerationRunner localRunner = localLlm.Runner();
        engines.Add(($"LocalLlmChatClient, default options (MaxConcurrentRequests {LocalLlmChatClientOptions.DefaultMaxConcurrentRequests})", () => localRunner));
        // Batching = Auto: concurrent requests share the native engine's static batches (≤ 4 rows each).
        using var batched = new LocalLlmEngine(bm.Folder, new LocalLlmChatClientOptions { Batching = BatchingMode.Auto });
        IGenerationRunner batchedRunner = batched.Runner("LocalLlmChatClient batched");
        engines.Add(("LocalLlmChatClient, default options + Batching Auto", () => batchedRunner));

        var table = new MarkdownTable("engine", "streams", "aggregate tok/s median", "vs 1 stream", "worst TTFT median ms", "worst TTFT p95 ms");
        var series = new List<(string, double[], double[])>();
        foreach ((string name, Func<IGenerationRunner> create) in engines)
        {
            double single = double.NaN;
            var ys = new List<double>();
            foreach (int n in streams)
            {
                context.Log($"concurrency: {name}, {n} stream(s)");
                var rates = new List<double>();
                var worst = new List<double>();
                for (int rep = -1; rep < reps; rep++) // rep -1 is the warm-up
                {
                    IGenerationRunner[] runners = Enumerable.Range(0, n).Select(_ => create()).ToArray();
                    long start = Stopwatch.GetTimestamp();
                    // Every stream and repetition its own prompt (as distinct users send): no engine reuses another's prefix.
                    int r0 = rep;
                    GenerationSample[] results = await Task.WhenAll(runners.Select((r, i) => Task.Run(() => r.RunAsync($"{r0 + 1}-{i} {prompt}", newTokens, cancellationToken), cancellationToken)));
                    double wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
                    if (rep < 0)
                        continue;
                    rates.Add(results.Sum(r => r.OutputTokens) / wall);
                    worst.Add(results.Max(r => r.TtftMs));
                }
                Summary rate = Summary.Of(rates), ttft = Summary.Of(worst);
                if (n == 1)
                    single = rate.Median;
                table.Row(name, n.ToString(), F(rate.Median), F(rate.Median / single, "0.00") + "×", F(ttft.Median), F(ttft.P95));
                ys.Add(rate.Median);
                context.Findings[$"concurrency.{name}.{n}"] = rate.Median;
            }
            series.Add((name, streams.Select(s => (double)s).ToArray(), [.. ys]));
        }
        string plot = Plots.Lines(context.PlotPath("concurrency"), "Aggregate decode rate vs concurrent streams", "streams", "tokens/s (all streams)", series);
        var md = new StringBuilder();
        md.AppendLine($"Model: {bm.Name}. Each stream: a {promptTokens}-token prompt behind its own number, {newTokens} new tokens, all started together; aggregate = all output tokens / wall time. Warm-up 1, median and p95 of {reps}.");
        if (context.Notes.TryGetValue("concurrency", out string? note))
            md.AppendLine(note);
        md.AppendLine();
        md.AppendLine(table.ToString());
        md.AppendLine($"![concurrency]({Path.GetFileName(plot)})");
        return new SuiteResult("Concurrency: 1–8 streams", md.ToString(), [plot]);
    }
}
