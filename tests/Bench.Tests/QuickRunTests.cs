namespace LocalLlm.Bench.Tests;

public sealed class QuickRunTests
{
    [Fact]
    public async Task Bench_Quick_WritesReportWithPlotsAndSeedClaims()
    {
        using var dir = new TempDirectory("localllm-bench");
        (int exit, string output, string error) = await BenchProcess.RunAsync(TimeSpan.FromMinutes(2), "--quick", "--out", dir.Path);

        Assert.True(exit == 0, $"bench --quick exited {exit}: {output}\n{error}");
        string report = File.ReadAllText(Path.Combine(dir.Path, "report.md"));
        string[] pngs = Directory.GetFiles(dir.Path, "*.png");
        Assert.NotEmpty(pngs);
        Assert.All(pngs, p => Assert.True(new FileInfo(p).Length > 1000, $"{p} is too small to be a chart"));
        // Every PNG the report links exists.
        foreach (string png in pngs)
            Assert.Contains($"({Path.GetFileName(png)})", report, StringComparison.Ordinal);
        Assert.Contains("## The seed's claims, checked", report, StringComparison.Ordinal);
        Assert.Contains("| CPU |", report, StringComparison.Ordinal);
        Assert.DoesNotContain("(failed)", report, StringComparison.Ordinal);
        // The quality suite scores the same seeded weights in each precision against fp32: the reference agrees with itself, int4 does not.
        string[] quality = [.. report[report.IndexOf("## Precision: what lower precision costs", StringComparison.Ordinal)..].Split('\n').Where(l => l.StartsWith("| tiny ", StringComparison.Ordinal))];
        Assert.Contains(quality, l => l.StartsWith("| tiny fp32", StringComparison.Ordinal) && l.Contains("| 1.000× | 0.0000 | 100.0 % |", StringComparison.Ordinal));
        Assert.Contains(quality, l => l.StartsWith("| tiny int4 acc4", StringComparison.Ordinal) && !l.Contains("100.0 %", StringComparison.Ordinal));
        foreach (string suite in new[] { "Overhead", "Precision", "Context length", "Decoding", "Concurrency", "Turns", "Middleware", "Execution provider", "Embeddings" })
            Assert.Contains($"## {suite}", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_BusyMachine_RefusesUnlessAllowedAndThenMarksTheReport()
    {
        using var dir = new TempDirectory("localllm-bench");
        using var stop = new CancellationTokenSource();
        // Keep every core busy while the bench starts, as a build or another benchmark would.
        Thread[] spinners = [.. Enumerable.Range(0, Environment.ProcessorCount).Select(_ => new Thread(() => { while (!stop.IsCancellationRequested) Thread.SpinWait(1000); }) { IsBackground = true })];
        foreach (var t in spinners) t.Start();
        try
        {
            var refused = await BenchProcess.RunAsync(TimeSpan.FromMinutes(1), "--suite", "ep", "--out", dir.Path);
            var allowed = await BenchProcess.RunAsync(TimeSpan.FromMinutes(1), "--suite", "ep", "--allow-busy", "--out", dir.Path);

            Assert.Equal(2, refused.ExitCode);
            Assert.Contains("Refusing to benchmark", refused.All, StringComparison.Ordinal);
            Assert.Equal(0, allowed.ExitCode);
            Assert.Contains("**BUSY MACHINE:", File.ReadAllText(Path.Combine(dir.Path, "report.md")), StringComparison.Ordinal);
        }
        finally
        {
            stop.Cancel();
            foreach (var t in spinners) t.Join();
        }
    }

    [Fact]
    public async Task Bench_UnknownSuite_FailsNamingTheChoices()
    {
        using var dir = new TempDirectory("localllm-bench");
        (int exit, string output, string error) = await BenchProcess.RunAsync(TimeSpan.FromMinutes(1), "--suite", "nope", "--out", dir.Path);
        Assert.NotEqual(0, exit);
        Assert.Contains("overhead", output + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plan_Qwen05BInt4_PrintsBreakdownAndBudget()
    {
        (int exit, string output, string error) = await BenchProcess.RunAsync(TimeSpan.FromMinutes(1),
            "plan", "--preset", "qwen2.5-0.5b", "--precision", "int4", "--max-length", "4096", "--budget-gib", "2");
        Assert.True(exit == 0, error);
        Assert.Contains("| KV cache |", output, StringComparison.Ordinal);
        Assert.Contains("2 × 24 layers × 2 KV heads × 64 × 4 B × 4096 tokens", output, StringComparison.Ordinal);
        Assert.Contains("Budget 2 GiB: max length", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plan_TrainLora_PrintsOptimizerAndActivations()
    {
        (int exit, string output, string error) = await BenchProcess.RunAsync(TimeSpan.FromMinutes(1),
            "plan", "--preset", "llama-2-7b", "--train", "--lora-rank", "8", "--checkpointing");
        Assert.True(exit == 0, error);
        Assert.Contains("LoRA r=8", output, StringComparison.Ordinal);
        Assert.Contains("| optimizer states |", output, StringComparison.Ordinal);
    }
}
