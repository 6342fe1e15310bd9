namespace LocalLlm.Bench.Suites;

/// <summary>
/// Cancellation latency: long requests cancelled at random moments (inside prefill or decode), timed from the
/// <c>Cancel()</c> call to the end of the caller's stream, through LocalLlm with default options and with batching.
/// </summary>
internal sealed class CancellationSuite : ISuite
{
    public string Name => "cancellation";

    public string Description => "random-moment cancellations of long requests";

    public async Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        BenchModel bm = context.Models.Primary();
        int promptTokens = context.Quick ? 200 : 1500, newTokens = context.Quick ? 8 : 32, trials = context.Quick ? 4 : 20;
        var table = new MarkdownTable("engine", "cancellations", "in prefill", "median ms", "p95 ms", "worst ms");
        var random = new Random(20261203);
        foreach ((string name, BatchingMode batching) in new[] { ("LocalLlmChatClient, default options (Batching Auto)", BatchingMode.Auto), ("LocalLlmChatClient, default options but Batching Off", BatchingMode.Off) })
        {
            using var engine = new LocalLlmEngine(bm.Folder, new LocalLlmChatClientOptions { Batching = batching });
            string prompt = PromptBuilder.ForTokens(engine.Tokenizer, promptTokens);
            var options = new ChatOptions { MaxOutputTokens = newTokens, Temperature = 0 }.WithMinOutputTokens(newTokens);
            // One whole request (a distinct prompt, so nothing is reused) sets the window the cancellations fall in.
            var clock = Stopwatch.StartNew();
            await engine.Client.GetResponseAsync($"0 {prompt}", options, cancellationToken);
            double whole = clock.Elapsed.TotalMilliseconds;
            var latencies = new List<double>();
            int inPrefill = 0;
            for (int t = 1; t <= trials; t++)
            {
                context.Log($"cancellation: {name}, {t}/{trials}");
                using var cts = new CancellationTokenSource();
                bool text = false;
                var stream = Task.Run(async () =>
                {
                    await foreach (var u in engine.Client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, $"{t} {prompt}")], options, cts.Token))
                        text |= !string.IsNullOrEmpty(u.Text);
                }, CancellationToken.None);
                await Task.Delay(TimeSpan.FromMilliseconds(random.NextDouble() * whole), cancellationToken);
                long cancelled = Stopwatch.GetTimestamp();
                await cts.CancelAsync();
                try { await stream; }
                catch (OperationCanceledException) { }
                latencies.Add(Stopwatch.GetElapsedTime(cancelled).TotalMilliseconds);
                if (!Volatile.Read(ref text)) inPrefill++;
            }
            Summary s = Summary.Of(latencies);
            table.Row(name, trials.ToString(), inPrefill.ToString(), F(s.Median), F(s.P95), F(latencies.Max()));
            context.Findings[$"cancellation.{batching}.worst_ms"] = latencies.Max();
        }
        var md = new StringBuilder();
        md.AppendLine($"Model: {bm.Name}. Each request: a distinct {promptTokens}-token prompt, {newTokens} new tokens; cancelled at a uniformly random moment within one whole request's time (so in prefill or decode), timed from `CancelAsync()` to the end of the caller's stream.");
        md.AppendLine();
        md.AppendLine(table.ToString());
        return new SuiteResult("Cancellation: time from Cancel() to the end of the stream", md.ToString(), []);
    }
}
