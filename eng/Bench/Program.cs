using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using LocalLlm.Bench.Decoding;
using LocalLlm.Bench.Planning;

// The benchmark lab: `bench [--quick] [--suite name ...] [--out dir]`, `bench plan ...` (memory planner),
// and the hidden `bench child` that measures one model in a fresh process (peak RSS is per process).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

var quick = new Option<bool>("--quick") { Description = "Smoke mode: tiny models, few repetitions, under 2 minutes." };
var suites = new Option<string[]>("--suite", "-s")
{
    Description = $"Suites to run ({string.Join(", ", BenchRunner.AllSuites.Select(s => s.Name))}, all). Default all.",
    AllowMultipleArgumentsPerToken = true,
};
var outDir = new Option<string>("--out", "-o") { Description = "Folder for report.md and the PNG plots.", DefaultValueFactory = _ => Path.Combine("artifacts", "bench") };
var reps = new Option<int?>("--reps") { Description = "Repetitions per measurement (default: 5 overhead, 3 others; 2 in quick mode)." };
var allowBusy = new Option<bool>("--allow-busy") { Description = "Run although other processes keep the cores busy (the report is marked BUSY; timings are then not comparable)." };
var qualityModels = new Option<string[]>("--quality-model")
{
    Description = "Model folders of one trained model in several precisions for the quality suite (the first is the reference, e.g. fp32).",
    AllowMultipleArgumentsPerToken = true,
};

var root = new RootCommand("LocalLlm benchmark lab: measures the trade-offs of running language models locally.") { quick, suites, outDir, reps, allowBusy, qualityModels };
root.SetAction((parse, ct) =>
{
    string[] chosen = parse.GetValue(suites) ?? [];
    var options = new BenchOptions(parse.GetValue(quick), parse.GetValue(reps), Path.GetFullPath(parse.GetValue(outDir)!), chosen,
        "dotnet run --project eng/Bench -c Release -- " + string.Join(' ', args))
    {
        AllowBusy = parse.GetValue(allowBusy),
        QualityModels = [.. (parse.GetValue(qualityModels) ?? []).Select(Path.GetFullPath)],
    };
    return BenchRunner.RunAsync(options, ct);
});

var request = new Option<string>("--request") { Required = true, Description = "ChildRequest as JSON." };
var child = new Command("child", "Measures one model folder in this fresh process (used by the suites).") { request };
child.Hidden = true;
child.SetAction(parse => ChildRun.Execute(JsonSerializer.Deserialize<ChildRequest>(parse.GetValue(request)!)!, Console.Out));
root.Subcommands.Add(child);
root.Subcommands.Add(PlanCommand.Create());
root.Subcommands.Add(DecodingCostCommand.Create());
root.Subcommands.Add(LocalLlm.Bench.Soak.SoakCommand.Create());

return await root.Parse(args).InvokeAsync();
