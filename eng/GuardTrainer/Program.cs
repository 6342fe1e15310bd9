// GuardTrainer: train | eval | bench. See docs/guardrails.md. Never prints dataset text.
using LocalLlm.GuardTrainer;

string repoRoot = RepoRoot();
string command = args.Length > 0 ? args[0] : "help";
return command switch
{
    "train" => Train.Run(repoRoot, args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : null),
    "eval" => await Eval.RunAsync(),
    "bench" => await StreamBench.RunAsync(),
    "pii-debug" => PiiDebug.Run(args.Length > 1 ? args[1] : "PhoneNumber"),
    _ => Help(),
};

static int Help()
{
    Console.WriteLine("""
        usage: dotnet run --project eng/GuardTrainer -c Release -- <command>
          train [n] train the prompt-attack classifier and write it into src/Sdk.Guardrails/Attacks/Model
                    (n forces candidate n instead of the one chosen on the validation slice)
          eval    detection/false-positive rates, PII precision/recall, check latency (p50/p95)
          bench   added latency per streamed chunk of the guardrails stage
        """);
    return 2;
}

static string RepoRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Sdk.sln")))
            return dir.FullName;
    }
    throw new InvalidOperationException("Sdk.sln not found above the tool.");
}
