using System.Globalization;

namespace LocalLlm.Bench.Running;

/// <summary>How a bench run was asked for.</summary>
internal sealed record BenchOptions(bool Quick, int? Reps, string OutDir, IReadOnlyList<string> Suites, string CommandLine)
{
    /// <summary>Run even when other processes keep the cores busy; the report is then marked as measured on a busy machine.</summary>
    public bool AllowBusy { get; init; }

    /// <summary>Model folders (a real trained model in several precisions) for the quality suite; the first is the reference.</summary>
    public IReadOnlyList<string> QualityModels { get; init; } = [];
}

/// <summary>What every suite shares: options, machine, model folders, findings for the seed section, logging.</summary>
internal sealed class BenchContext(BenchOptions options, MachineInfo machine, BenchModels models, Action<string> log)
{
    public BenchOptions Options { get; } = options;

    public MachineInfo Machine { get; } = machine;

    public BenchModels Models { get; } = models;

    public bool Quick => Options.Quick;

    /// <summary>Numbers the seed-claims section reads, keyed by "suite.name".</summary>
    public Dictionary<string, double> Findings { get; } = new(StringComparer.Ordinal);

    /// <summary>Notes the seed-claims section quotes (skips, substitutions).</summary>
    public Dictionary<string, string> Notes { get; } = new(StringComparer.Ordinal);

    public void Log(string message) => log(message);

    /// <summary>Repetitions: --reps if given, else the suite's default for the mode.</summary>
    public int Reps(int full, int quick = 2) => Options.Reps ?? (Quick ? quick : full);

    public string PlotPath(string name) => Path.Combine(Options.OutDir, name + ".png");

    public static string F(double value, string format = "0.0") =>
        double.IsNaN(value) ? "n/a" : value.ToString(format, CultureInfo.InvariantCulture);

    public static string MiB(long bytes) => (bytes / (1024.0 * 1024)).ToString("0", CultureInfo.InvariantCulture);
}

/// <summary>A suite's section of the report.</summary>
internal sealed record SuiteResult(string Title, string Markdown, IReadOnlyList<string> Plots);

/// <summary>One benchmark suite.</summary>
internal interface ISuite
{
    string Name { get; }

    string Description { get; }

    Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken);
}
