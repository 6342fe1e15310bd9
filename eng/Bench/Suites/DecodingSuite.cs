namespace LocalLlm.Bench.Suites;

/// <summary>Greedy vs sampling vs beam search (4) vs four sampled candidates, through raw ORT GenAI search options.</summary>
internal sealed class DecodingSuite : ISuite
{
    public string Name => "decoding";

    public string Description => "greedy, sampling, beam 4, n=4 candidates";

    public async Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        BenchModel bm = context.Models.Primary();
        int promptTokens = context.Quick ? 32 : 128, newTokens = context.Quick ? 16 : 32, reps = context.Reps(3);
        SearchSettings[] strategies =
        [
            SearchSettings.Greedy,
            new("sampling (T 0.8, top-k 50, top-p 0.9)", DoSample: true, Temperature: 0.8, TopK: 50, TopP: 0.9),
            new("beam search (4 beams)", NumBeams: 4),
            new("4 sampled candidates (batch of 4 prompt copies)", DoSample: true, Temperature: 0.8, TopK: 50, TopP: 0.9, Batch: 4),
        ];
        using var model = new Model(bm.Folder);
        using var tokenizer = new Tokenizer(model);
        string prompt = PromptBuilder.ForTokens(tokenizer, promptTokens);

        var table = new MarkdownTable("strategy", "TTFT median ms", "per-step median ms", "per-step p95 ms", "total median ms", "cost vs greedy");
        var labels = new List<string>();
        var totals = new List<double>();
        double greedyTotal = double.NaN;
        foreach (SearchSettings strategy in strategies)
        {
            context.Log($"decoding: {strategy.Name}");
            var runner = new RawLoopRunner(model, tokenizer, strategy);
            List<GenerationSample> samples = [];
            string? failure = null;
            try
            {
                await runner.RunAsync(prompt, newTokens, cancellationToken);
                for (int i = 0; i < reps; i++)
                    samples.Add(await runner.RunAsync(prompt, newTokens, cancellationToken));
            }
            catch (OnnxRuntimeGenAIException ex)
            {
                failure = ex.Message;
            }
            if (failure is not null)
            {
                table.Row(strategy.Name, "failed: " + failure.Replace('|', '/'), "", "", "", "");
                continue;
            }
            Summary total = Summary.Of(samples.Select(s => s.TotalMs));
            Summary step = Summary.Of(samples.Select(s => s.PerTokenMs));
            if (strategy == SearchSettings.Greedy)
                greedyTotal = total.Median;
            table.Row(strategy.Name, F(Summary.Of(samples.Select(s => s.TtftMs)).Median), F(step.Median, "0.00"), F(step.P95, "0.00"), F(total.Median), F(total.Median / greedyTotal, "0.00") + "×");
            labels.Add(strategy.Name.Split(' ')[0] + (strategy.NumBeams > 1 ? " 4" : strategy.Batch > 1 ? " n=4" : ""));
            totals.Add(total.Median);
            context.Findings[$"decoding.cost.{labels[^1]}"] = total.Median / greedyTotal;
        }
        // The same four strategies through LocalLlm's client (non-streaming: beams and candidates need the whole answer).
        var clientTable = new MarkdownTable("strategy (LocalLlmChatClient.GetResponseAsync)", "total median ms", "total p95 ms", "cost vs greedy");
        using (var engine = new LocalLlmEngine(bm))
        {
            (string Name, Func<ChatOptions> Options)[] clientStrategies =
            [
                ("greedy (Temperature 0)", () => new ChatOptions { Temperature = 0 }),
                ("sampling (Temperature 0.8, TopK 50, TopP 0.9)", () => new ChatOptions { Temperature = 0.8f, TopK = 50, TopP = 0.9f, Seed = 42 }),
                ("beam search (WithNumBeams(4))", () => new ChatOptions { Temperature = 0 }.WithNumBeams(4)),
                ("4 candidates (WithCandidateCount(4), sampling)", () => new ChatOptions { Temperature = 0.8f, TopK = 50, TopP = 0.9f, Seed = 42 }.WithCandidateCount(4)),
            ];
            double clientGreedy = double.NaN;
            foreach ((string name, Func<ChatOptions> make) in clientStrategies)
            {
                context.Log($"decoding: LocalLlm {name}");
                var times = new List<double>();
                string? failure = null;
                for (int i = -1; i < reps && failure is null; i++)
                {
                    ChatOptions o = make();
                    o.MaxOutputTokens = newTokens;
                    o.WithMinOutputTokens(newTokens);
                    long start = System.Diagnostics.Stopwatch.GetTimestamp();
                    try
                    {
                        await engine.Client.GetResponseAsync([new ChatMessage(ChatRole.User, prompt)], o, cancellationToken);
                    }
                    catch (Exception ex) when (ex is NotSupportedException or ArgumentException or OnnxRuntimeGenAIException)
                    {
                        failure = ex.Message;
                    }
                    if (i >= 0)
                        times.Add(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                if (failure is not null)
                {
                    clientTable.Row(name, "failed: " + failure.ReplaceLineEndings(" ").Replace('|', '/'), "", "");
                    continue;
                }
                Summary t = Summary.Of(times);
                if (double.IsNaN(clientGreedy))
                    clientGreedy = t.Median;
                clientTable.Row(name, F(t.Median), F(t.P95), F(t.Median / clientGreedy, "0.00") + "×");
            }
        }

        string plot = Plots.Bars(context.PlotPath("decoding"), $"Total latency by decoding strategy ({newTokens} new tokens)", "ms", labels, totals);
        var md = new StringBuilder();
        md.AppendLine($"Model: {bm.Name}. Prompt {promptTokens} tokens, {newTokens} new tokens, warm-up 1, median of {reps}. All four strategies use ORT GenAI search options on a raw Generator (`do_sample`, `temperature`, `top_k`, `top_p`, `num_beams`, `batch_size`): ORT's `OnnxRuntimeGenAIChatClient` maps temperature/top-k/top-p but has no beam-search or n-candidates option (only raw search options through `AdditionalProperties`). ORT GenAI only returns several sequences from beam search (`num_return_sequences` ≤ `num_beams`), so n sampled candidates are a batch of four copies of the prompt.");
        md.AppendLine();
        md.AppendLine(table.ToString());
        md.AppendLine("Through LocalLlm's chat client (same prompt, chat template applied, exactly the same number of new tokens):");
        md.AppendLine();
        md.AppendLine(clientTable.ToString());
        md.AppendLine($"![decoding]({Path.GetFileName(plot)})");
        return new SuiteResult("Decoding parameters: greedy, sampling, beam search, candidates", md.ToString(), [plot]);
    }
}
