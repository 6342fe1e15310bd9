using LocalLlm.Bench.Suites;
using Spectre.Console;

namespace LocalLlm.Bench.Running;

/// <summary>Runs the chosen suites in order with a progress display, then writes the report.</summary>
internal static class BenchRunner
{
    public static IReadOnlyList<ISuite> AllSuites { get; } =
    [
        new OverheadSuite(), new PrecisionSuite(), new QualitySuite(), new ContextSuite(), new DecodingSuite(),
        new ConcurrencySuite(), new TurnsSuite(), new MiddlewareSuite(), new EpSuite(), new EmbeddingsSuite(), new AdaptersSuite(), new ImagesSuite(), new SoakSuite(), new CancellationSuite(),
    ];

    public static async Task<int> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        ISuite[] suites = options.Suites.Count == 0 || options.Suites.Contains("all")
            ? [.. AllSuites]
            : options.Suites.Select(name => AllSuites.FirstOrDefault(s => s.Name == name)
                ?? throw new ArgumentException($"Unknown suite '{name}'; use one of: {string.Join(", ", AllSuites.Select(s => s.Name))}, all.")).ToArray();
        // Timings are only comparable on a quiet machine: refuse a busy start (or mark the report loudly).
        double? busy = CpuBusy.BusyCores(TimeSpan.FromSeconds(3));
        string? busyNote = busy > 0.25 ? $"other processes kept {busy:0.00} of {Environment.ProcessorCount} cores busy in the 3 s before the run" : null;
        if (busyNote is not null && !options.AllowBusy && !options.Quick) // a quick run is a smoke test, not numbers
        {
            AnsiConsole.MarkupLine($"[red]Refusing to benchmark: {Markup.Escape(busyNote)}.[/] Stop them (builds, tests, other benchmarks) and run again, or pass --allow-busy to measure anyway (the report is then marked BUSY).");
            return 2;
        }
        Directory.CreateDirectory(options.OutDir);
        long start = Stopwatch.GetTimestamp();
        var machine = MachineInfo.Probe() with { BusyAtStart = busyNote };
        AnsiConsole.MarkupLine($"[bold]LocalLlm bench[/] {(options.Quick ? "(quick)" : "(full)")} → {Markup.Escape(options.OutDir)}");
        AnsiConsole.MarkupLine($"{Markup.Escape(machine.Cpu)}, {machine.Cores} cores, {machine.MemoryBytes / (1024.0 * 1024 * 1024):0.0} GiB, copy {machine.CopyBandwidthGBps:0.0} GB/s, ORT GenAI {Markup.Escape(machine.OrtGenAI)}");

        var results = new List<SuiteResult>();
        BenchContext? context = null;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var tasks = suites.ToDictionary(s => s, s => progress.AddTask(Markup.Escape($"{s.Name}: {s.Description}"), autoStart: false, maxValue: 1));
                context = new BenchContext(options, machine, new BenchModels(options.Quick, message => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(message)}[/]")),
                    message => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(message)}[/]"));
                foreach (ISuite suite in suites)
                {
                    ProgressTask task = tasks[suite];
                    task.StartTask();
                    long suiteStart = Stopwatch.GetTimestamp();
                    try
                    {
                        results.Add(await suite.RunAsync(context, cancellationToken));
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // One failing suite must not lose the others' numbers; the report says what failed.
                        results.Add(new SuiteResult($"{suite.Name} (failed)", $"The suite failed: `{ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}`\n", []));
                        AnsiConsole.MarkupLine($"[red]{Markup.Escape(suite.Name)} failed: {Markup.Escape(ex.Message)}[/]");
                    }
                    task.Value = 1;
                    task.StopTask();
                    // Rewrite the report after every suite: a long run that is stopped still leaves its numbers.
                    ReportWriter.Write(context, results, Stopwatch.GetElapsedTime(start));
                    context.Log($"{suite.Name}: {Stopwatch.GetElapsedTime(suiteStart).TotalSeconds:0} s");
                }
            });
        string report = ReportWriter.Write(context!, results, Stopwatch.GetElapsedTime(start));
        AnsiConsole.MarkupLine($"Report: [link]{Markup.Escape(report)}[/] ({results.Sum(r => r.Plots.Count)} plots)");
        return results.Any(r => r.Title.EndsWith("(failed)", StringComparison.Ordinal)) ? 1 : 0;
    }
}
