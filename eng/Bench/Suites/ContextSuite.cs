using LocalLlm.Memory;

namespace LocalLlm.Bench.Suites;

/// <summary>
/// Prompt length 128 → 4096: TTFT, per-token latency, and memory measured (child process) vs planned. Memory is
/// measured twice per length: the raw ORT GenAI loop appends the whole prompt in one call (ORT keeps logits for every
/// position), LocalLlm's chat client appends it in 256-token chunks (what an app gets).
/// </summary>
internal sealed class ContextSuite : ISuite
{
    public string Name => "context";

    public string Description => "prompt length: TTFT, per-token latency, KV memory measured vs planned";

    public async Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        BenchModel bm = context.Models.Primary();
        int[] lengths = context.Quick ? [16, 64, 256] : [128, 512, 1024, 2048, 4096];
        int newTokens = context.Quick ? 8 : 16, reps = context.Reps(2);
        var table = new MarkdownTable("prompt tokens", "TTFT median ms", "TTFT p95 ms", "prefill tok/s", "per-token median ms", "per-token p95 ms",
            "RSS growth MiB, one-call prefill (raw)", "RSS growth MiB, LocalLlm (chunked)", "LocalLlm ÷ raw", "planned KV MiB", "planned KV + one-call activations MiB", "planned KV + chunked activations MiB");
        var xs = new List<double>();
        var ttft = new List<double>();
        var perToken = new List<double>();
        var measured = new List<double>();
        var measuredLocal = new List<double>();
        int templateTokens = 0;
        var plannedKv = new List<double>();
        var plannedAll = new List<double>();
        var plannedChunked = new List<double>();
        foreach (int length in lengths)
        {
            context.Log($"context: {length} tokens");
            ChildResult r = await ChildRun.RunAsync(new ChildRequest(bm.Folder, length, newTokens, reps, 1), cancellationToken);
            Summary t = Summary.Of(r.Samples.Select(s => s.TtftMs)), pt = Summary.Of(r.Samples.Select(s => s.PerTokenMs));
            double growth = (r.PeakRss - r.LoadedRss) / (1024.0 * 1024);
            // Memory only (one run, no warm-up: the peak is what counts): LocalLlm through its chat client, whose prompt is
            // the same text inside the chat template.
            ChildResult local = await ChildRun.RunAsync(new ChildRequest(bm.Folder, length, newTokens, 1, 0, LocalLlm: true), cancellationToken);
            double localGrowth = (local.PeakRss - local.LoadedRss) / (1024.0 * 1024);
            templateTokens = local.PromptTokens - r.PromptTokens;
            double kv = double.NaN, all = double.NaN, chunked = double.NaN;
            if (bm.Shape is not null)
            {
                kv = InferencePlanner.KvCacheBytes(bm.Shape, r.PromptTokens + newTokens) / (1024.0 * 1024);
                all = kv + (InferencePlanner.PrefillActivationBytes(bm.Shape, r.PromptTokens) / (1024.0 * 1024));
                chunked = (InferencePlanner.KvCacheBytes(bm.Shape, local.PromptTokens + newTokens)
                    + InferencePlanner.PrefillActivationBytes(bm.Shape, local.PromptTokens, chunkTokens: InferenceWorkload.LocalLlmPrefillChunk)) / (1024.0 * 1024);
            }
            table.Row(r.PromptTokens.ToString(), F(t.Median), F(t.P95), F(r.PromptTokens / t.Median * 1000), F(pt.Median, "0.00"), F(pt.P95, "0.00"), F(growth), F(localGrowth), F(localGrowth / growth, "0.00") + "×", F(kv), F(all), F(chunked));
            xs.Add(r.PromptTokens);
            ttft.Add(t.Median);
            perToken.Add(pt.Median);
            measured.Add(growth);
            measuredLocal.Add(localGrowth);
            plannedKv.Add(kv);
            plannedAll.Add(all);
            plannedChunked.Add(chunked);
            context.Findings[$"context.ttft.{length}"] = t.Median;
            context.Findings[$"context.perToken.{length}"] = pt.Median;
            context.Findings[$"context.growth.{length}"] = growth;
            context.Findings[$"context.localGrowth.{length}"] = localGrowth;
            context.Findings[$"context.kv.{length}"] = kv;
        }
        context.Findings["context.first"] = lengths[0];
        context.Findings["context.last"] = lengths[^1];
        if (bm.Shape is not null)
        {
            context.Findings["context.weightsMiB"] = InferencePlanner.ModelWeightBytes(bm.Shape) / (1024.0 * 1024);
            context.Findings["context.kvPerTokenKiB"] = InferencePlanner.KvCacheBytesPerToken(bm.Shape) / 1024.0;
        }
        double[] x = [.. xs];
        string p1 = Plots.Lines(context.PlotPath("context-latency"), $"Latency vs prompt length ({bm.Name})", "prompt tokens", "ms",
            [("TTFT (ms)", x, [.. ttft]), ("per-token decode × 100 (ms)", x, perToken.Select(v => v * 100).ToArray())]);
        var series = new List<(string, double[], double[])>
        {
            ("RSS growth, one-call prefill (raw loop)", x, [.. measured]),
            ("RSS growth, LocalLlm (256-token chunks)", x, [.. measuredLocal]),
        };
        if (bm.Shape is not null)
        {
            series.Add(("planned KV cache", x, [.. plannedKv]));
            series.Add(("planned KV + one-call prefill activations", x, [.. plannedAll]));
            series.Add(("planned KV + chunked prefill activations", x, [.. plannedChunked]));
        }
        string p2 = Plots.Lines(context.PlotPath("context-memory"), $"Memory vs prompt length ({bm.Name})", "prompt tokens", "MiB", series);
        var md = new StringBuilder();
        md.AppendLine($"Model: {bm.Name}. One child process per length and engine. Raw ORT GenAI loop (timings): warm-up 1, then {reps} greedy runs of {newTokens} new tokens, the whole prompt appended in one call. LocalLlm (memory only): one run through `LocalLlmChatClient`, which appends the prompt in 256-token chunks; its prompt is the same text in the chat template ({templateTokens} more tokens). RSS growth = peak RSS (VmHWM) − RSS after loading; it holds the KV cache and the transient prefill buffers (logits for every appended position, attention scores).");
        md.AppendLine();
        md.AppendLine(table.ToString());
        md.AppendLine($"![latency]({Path.GetFileName(p1)}) ![memory]({Path.GetFileName(p2)})");
        return new SuiteResult("Context length: TTFT, per-token latency, KV memory", md.ToString(), [p1, p2]);
    }
}
