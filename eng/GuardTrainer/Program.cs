// GuardTrainer: train | eval | bench. See docs/guardrails.md. Never prints dataset text.
using LocalLlm.GuardTrainer;

string repoRoot = RepoRoot();
string command = args.Length > 0 ? args[0] : "help";
return command switch
{
    "train" => Train.Run(repoRoot, args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : null),
    "train-encoder" => EncoderTrain.Run(repoRoot, write: args.Contains("--write"), shippedVariant: StaticDims(args) > 0 ? 8 : 0, staticDims: StaticDims(args),
        only: [.. args.Select((a, i) => (a, i)).Where(p => p.a == "--variant" && p.i + 1 < args.Length).Select(p => int.Parse(args[p.i + 1], System.Globalization.CultureInfo.InvariantCulture))],
        augment: args.Contains("--augment"), lookAlikeThreshold: args.Contains("--look-alike-threshold"), cues: args.Contains("--cues")),
    "distill-static" => StaticDistill.Run(repoRoot, StaticDims(args) is > 0 and var d ? d : StaticDistill.DefaultDimensions, write: args.Contains("--write")),
    "encoder-latency" => await EncoderLatency.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200),
    "score" => await ScoreStdinAsync(),
    "eval" => await Eval.RunAsync(),
    "bench" => await StreamBench.RunAsync(),
    "pii-debug" => PiiDebug.Run(args.Length > 1 ? args[1] : "PhoneNumber"),
    _ => Help(),
};

// Reads one text from stdin and prints the encoder classifier's probability per window (a diagnostic for your own text).
static async Task<int> ScoreStdinAsync()
{
    string text = await Console.In.ReadToEndAsync();
    using var encoder = new LocalLlm.Embeddings.LocalEmbeddingGenerator();
    var head = LocalLlm.Guardrails.Attacks.PromptAttackEncoderClassifier.Shipped;
    var windows = LocalLlm.Guardrails.Attacks.PromptAttackEncoderClassifier.Windows(text);
    var vectors = encoder.EmbedVectors(windows, out _);
    for (int i = 0; i < windows.Count; i++)
        Console.WriteLine($"window {i} ({windows[i].Length} chars): {head.Score(vectors[i], LocalLlm.Guardrails.Attacks.PromptAttackClassifier.Shipped.Score(windows[i])):0.0000} (threshold {head.Threshold:0.0000})");
    return 0;
}

// --static [dims]: the static encoder (default dimensions) instead of all-MiniLM-L6-v2.
static int StaticDims(string[] args)
{
    int i = Array.IndexOf(args, "--static");
    if (i < 0)
        return 0;
    return i + 1 < args.Length && int.TryParse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture, out int d) ? d : StaticDistill.DefaultDimensions;
}

static int Help()
{
    Console.WriteLine("""
        usage: dotnet run --project eng/GuardTrainer -c Release -- <command>
          train [n] train the prompt-attack classifier and write it into src/Sdk.Guardrails/Attacks/Model
                    (n forces candidate n instead of the one chosen on the validation slice)
          train-encoder [--static [dims]] [--variant n]... [--augment] [--cues] [--look-alike-threshold] [--write]
                  the encoder classifier: leave-one-source-out, dev and PAIR tables for each candidate;
                  --static: over the static encoder distilled from all-MiniLM-L6-v2 (default 128 dimensions)
                  instead of the model itself; --variant: only these candidates; --augment: training-only
                  indirect and obfuscated copies (Augment.cs); --cues: AttackCues' structural cues in the hashed
                  features (the shipped recipe); --look-alike-threshold: the 1% false-positive
                  threshold also over the look-alike benign tune prompts; --write puts the shipped candidate's weights (trained on every split; and the static
                  table) into src/Sdk.Guardrails/Attacks/Model
          distill-static [--static dims] [--write]
                  distils the static encoder table (src/Sdk.Guardrails/Attacks/Model/prompt-attack-static.bin)
          encoder-latency [n]
                  p50/p95 of the attack check with the encoder on a 512-token prompt (n timed calls, default 200)
          score   reads a text from stdin, prints the encoder classifier's probability per window
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
