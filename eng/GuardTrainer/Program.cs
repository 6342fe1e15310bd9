// GuardTrainer: train | eval | bench. See docs/guardrails.md. Never prints dataset text.
using LocalLlm.GuardTrainer;

string repoRoot = RepoRoot();
string command = args.Length > 0 ? args[0] : "help";
return command switch
{
    "train" => Train.Run(repoRoot, args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : null),
    "train-encoder" => EncoderTrain.Run(repoRoot, write: args.Contains("--write"), shippedVariant: 0),
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

static int Help()
{
    Console.WriteLine("""
        usage: dotnet run --project eng/GuardTrainer -c Release -- <command>
          train [n] train the prompt-attack classifier and write it into src/Sdk.Guardrails/Attacks/Model
                    (n forces candidate n instead of the one chosen on the validation slice)
          train-encoder [--write]
                  the encoder classifier: leave-one-source-out, dev and PAIR tables for each candidate;
                  --write puts the shipped candidate's weights into src/Sdk.Guardrails/Attacks/Model
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
