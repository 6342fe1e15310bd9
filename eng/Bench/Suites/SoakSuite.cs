using System.Text.Json;
using LocalLlm.Bench.Soak;

namespace LocalLlm.Bench.Suites;

/// <summary>Distinct requests through AddLocalLlm defaults, each model in a fresh process: does resident memory level off?</summary>
internal sealed class SoakSuite : ISuite
{
    public string Name => "soak";

    public string Description => "memory under many distinct requests (AddLocalLlm defaults)";

    public async Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        (string Model, int Requests, int Checkpoint)[] runs = context.Quick
            ? [("demo", 300, 100)]
            : [("demo", 10_000, 500), ("qwen-int4", 2_000, 500)];
        var table = new MarkdownTable("model", "requests", "RSS loaded MiB", "RSS after checkpoint MiB", "RSS at the end MiB", "growth after checkpoint", "cached generators", "cached MiB", "seconds");
        foreach (var (model, requests, checkpoint) in runs)
        {
            context.Log($"soak: {model}, {requests} requests");
            string line = await ChildRun.RunSelfAsync(["soak", "--model", model, "--requests", requests.ToString(), "--checkpoint", checkpoint.ToString()],
                SoakCommand.ResultPrefix, model, cancellationToken);
            var r = JsonSerializer.Deserialize<SoakResult>(line)!;
            table.Row(model, $"{requests} (checkpoint {checkpoint})", MiB(r.LoadedRss), MiB(r.CheckpointRss), MiB(r.FinalRss), F(r.GrowthPercent, "+0.0;-0.0") + " %",
                r.CachedGenerators.ToString(), MiB(r.CachedBytes), F(r.Seconds, "0"));
            context.Findings[$"soak.{model}.growth_percent"] = r.GrowthPercent;
        }
        var md = new StringBuilder();
        md.AppendLine($"Each model in its own process, through `AddLocalLlm` with default options; 4 requests at a time, every prompt different, {SoakCommand.OutputTokens} output tokens each. RSS = VmRSS after a full GC.");
        md.AppendLine("Growth is from the checkpoint to the end: cached generators are bounded by `MaxCachedGenerators` and the budget, so it should stay near 0.");
        md.AppendLine();
        md.AppendLine(table.ToString());
        return new SuiteResult("Soak: memory under distinct requests", md.ToString(), []);
    }
}
