using System.Globalization;

namespace LocalLlm.Bench.Reporting;

/// <summary>Writes report.md: header (command, machine), the seed's claims answered, then every suite.</summary>
internal static class ReportWriter
{
    public static string Write(BenchContext context, IReadOnlyList<SuiteResult> results, TimeSpan elapsed)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# LocalLlm benchmark report{(context.Quick ? " (quick smoke run)" : "")}");
        sb.AppendLine();
        if (context.Machine.BusyAtStart is { } busy)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"> **BUSY MACHINE: {busy} (run with --allow-busy). Timings and ratios in this report are not comparable with a quiet run.**");
            sb.AppendLine();
        }
        sb.AppendLine(CultureInfo.InvariantCulture, $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC in {elapsed.TotalMinutes:0.0} minutes with:");
        sb.AppendLine();
        sb.AppendLine("```bash");
        sb.AppendLine(context.Options.CommandLine);
        sb.AppendLine("```");
        sb.AppendLine();
        sb.AppendLine("Every number is a ratio or median measured in this run, on this machine; medians and 95th percentiles of repeated runs after a warm-up.");
        sb.AppendLine("The models are ModelForge folders with random weights in real shapes: speed and memory are realistic, the text is not.");
        sb.AppendLine();
        sb.AppendLine(context.Machine.ToMarkdown());
        foreach (string note in context.Notes.Where(n => n.Key is "localllm" or "models").Select(n => n.Value))
            sb.AppendLine($"> {note}").AppendLine();
        sb.AppendLine("## The seed's claims, checked");
        sb.AppendLine();
        sb.AppendLine(SeedClaims.Write(context));
        foreach (SuiteResult r in results)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"## {r.Title}");
            sb.AppendLine();
            sb.AppendLine(r.Markdown);
        }
        Directory.CreateDirectory(context.Options.OutDir);
        string path = Path.Combine(context.Options.OutDir, "report.md");
        File.WriteAllText(path, sb.ToString());
        return path;
    }
}
