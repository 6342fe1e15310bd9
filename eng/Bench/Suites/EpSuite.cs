namespace LocalLlm.Bench.Suites;

/// <summary>CPU vs CUDA execution provider: the same folder and raw loop on both, when the CUDA runtime is present.</summary>
internal sealed class EpSuite : ISuite
{
    public string Name => "ep";

    public string Description => "CPU vs CUDA execution provider";

    public async Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        var md = new StringBuilder();
        if (context.Machine.CudaUnavailableReason is { } reason)
        {
            md.AppendLine($"Not measured: {reason}. CPU numbers are in the other sections; no GPU claim can be checked on this machine.");
            context.Notes["ep"] = reason;
            context.Log("ep: not measured: " + reason);
            return new SuiteResult("Execution provider: CPU vs CUDA", md.ToString(), []);
        }

        BenchModel bm = context.Models.Primary();
        int promptTokens = context.Quick ? 32 : 128, newTokens = context.Quick ? 16 : 128, reps = context.Reps(3);
        var table = new MarkdownTable("provider", "TTFT median ms", "decode median tok/s", "decode vs CPU");
        double? cpuDecode = null;
        foreach (string provider in new[] { "cpu", "cuda" })
        {
            using var config = new Config(bm.Folder);
            config.ClearProviders();
            if (provider == "cuda")
                config.AppendProvider("cuda");
            using var model = new Model(config);
            using var tokenizer = new Tokenizer(model);
            string prompt = PromptBuilder.ForTokens(tokenizer, promptTokens);
            var runner = new RawLoopRunner(model, tokenizer, SearchSettings.Greedy, name: provider);
            await runner.RunAsync(prompt, newTokens, cancellationToken); // warm-up (CUDA graph and kernel set-up)
            var samples = new List<GenerationSample>();
            for (int rep = 0; rep < reps; rep++)
                samples.Add(await runner.RunAsync(prompt, newTokens, cancellationToken));
            double decode = Summary.Of(samples.Select(s => s.DecodeTokensPerSecond)).Median, ttft = Summary.Of(samples.Select(s => s.TtftMs)).Median;
            cpuDecode ??= decode;
            table.Row(provider, F(ttft), F(decode), F(decode / cpuDecode.Value, "0.00") + "×");
            context.Findings[$"ep.decode.{provider}"] = decode;
            context.Log($"ep: {provider} measured");
        }
        md.AppendLine($"Model: {bm.Name}. Raw ORT GenAI loop, greedy, prompt {promptTokens} tokens, {newTokens} new tokens; warm-up 1, median of {reps}, the same folder on each provider.");
        md.AppendLine();
        md.AppendLine(table.ToString());
        return new SuiteResult("Execution provider: CPU vs CUDA", md.ToString(), []);
    }
}
