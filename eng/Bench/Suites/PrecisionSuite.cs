using LocalLlm.Memory;

namespace LocalLlm.Bench.Suites;

/// <summary>fp32 / fp16 / int8 / int4 (accuracy levels 4 and 0): speed, peak RSS (one child process each), file size.</summary>
internal sealed class PrecisionSuite : ISuite
{
    public string Name => "precision";

    public string Description => "fp32/fp16/int8/int4: prefill, decode, peak RSS, file size";

    public async Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        int promptTokens = context.Quick ? 32 : 128, newTokens = context.Quick ? 16 : 32, reps = context.Reps(3);
        var table = new MarkdownTable("model", "file MiB", "load s", "prefill tok/s", "decode median tok/s", "per-token p95 ms", "peak RSS MiB", "planned MiB", "planner error");
        var labels = new List<string>();
        var decode = new List<double>();
        var rss = new List<double>();
        foreach (BenchModel bm in context.Models.PrecisionVariants())
        {
            context.Log($"precision: {bm.Name}");
            ChildResult r = await ChildRun.RunAsync(new ChildRequest(bm.Folder, promptTokens, newTokens, reps, 1), cancellationToken);
            Summary d = Summary.Of(r.Samples.Select(s => s.DecodeTokensPerSecond));
            Summary p = Summary.Of(r.Samples.Select(s => s.PrefillTokensPerSecond));
            string planned = "n/a", error = "n/a";
            if (bm.Shape is not null)
            {
                long plan = InferencePlanner.Estimate(bm.Shape, new InferenceWorkload(r.PromptTokens, r.PromptTokens + newTokens), RuntimeProfile.For(bm)).DeviceBytes;
                planned = MiB(plan);
                double err = (double)(plan - r.PeakRss) / r.PeakRss;
                error = F(err * 100, "+0.0;-0.0") + " %";
                context.Findings[$"precision.plannerError.{bm.Name}"] = err;
            }
            table.Row(bm.Name, MiB(bm.FileBytes), F(r.LoadMs / 1000, "0.0"), F(p.Median), F(d.Median), F(Summary.Of(r.Samples.Select(s => s.PerTokenMs)).P95, "0.00"), MiB(r.PeakRss), planned, error);
            labels.Add(bm.Precision + (bm.Precision.StartsWith("int", StringComparison.Ordinal) ? $"\nacc {bm.AccuracyLevel}" : ""));
            decode.Add(d.Median);
            rss.Add(r.PeakRss / (1024.0 * 1024));
            string key = bm.Precision + (bm.Precision.StartsWith("int", StringComparison.Ordinal) ? $".acc{bm.AccuracyLevel}" : "");
            context.Findings[$"precision.decode.{key}"] = d.Median;
            context.Findings[$"precision.prefill.{key}"] = p.Median;
            context.Findings[$"precision.rss.{key}"] = r.PeakRss;
            context.Findings[$"precision.file.{key}"] = bm.FileBytes;
        }
        string p1 = Plots.Bars(context.PlotPath("precision-decode"), "Decode rate by precision (median)", "tokens/s", labels, decode);
        string p2 = Plots.Bars(context.PlotPath("precision-rss"), "Peak RSS by precision (VmHWM, own process)", "MiB", labels, rss);
        var md = new StringBuilder();
        md.AppendLine($"Each row runs in its own child process (`bench child`): load, warm-up 1, {reps} greedy generations of {newTokens} tokens after a {promptTokens}-token prompt; peak RSS is that process's VmHWM. Planned = the memory planner (weights + KV cache + prefill activations + measured runtime overhead).");
        md.AppendLine();
        md.AppendLine(table.ToString());
        md.AppendLine($"![decode by precision]({Path.GetFileName(p1)}) ![peak RSS by precision]({Path.GetFileName(p2)})");
        return new SuiteResult("Precision: fp32 / fp16 / int8 / int4", md.ToString(), [p1, p2]);
    }
}
