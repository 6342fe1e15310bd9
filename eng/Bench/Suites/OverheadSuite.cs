namespace LocalLlm.Bench.Suites;

/// <summary>Cost of the client layers: LocalLlm vs a raw ORT GenAI loop vs ORT's own OnnxRuntimeGenAIChatClient.</summary>
internal sealed class OverheadSuite : ISuite
{
    public string Name => "overhead";

    public string Description => "LocalLlm vs raw ORT GenAI loop vs OnnxRuntimeGenAIChatClient";

    public async Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        BenchModel bm = context.Models.Primary();
        int promptTokens = context.Quick ? 32 : 128, newTokens = context.Quick ? 16 : 128, reps = context.Reps(5);

        using var model = new Model(bm.Folder);
        using var tokenizer = new Tokenizer(model);
        string prompt = PromptBuilder.ForTokens(tokenizer, promptTokens);
        int exactPrompt = PromptBuilder.Count(tokenizer, prompt);

        // ORT's client gets the same text as the raw loop (identity formatter) and the same exact length (min_length).
        using var ortClient = new OnnxRuntimeGenAIChatClient(model, ownsModel: false, new OnnxRuntimeGenAIChatClientOptions
        {
            PromptFormatter = (messages, _) => messages.Last().Text,
        });
        var runners = new List<IGenerationRunner>
        {
            new RawLoopRunner(model, tokenizer, SearchSettings.Greedy),
            new ChatClientRunner("OnnxRuntimeGenAIChatClient (ORT)", ortClient, (_, n) => new ChatOptions
            {
                MaxOutputTokens = n,
                AdditionalProperties = new() { ["min_length"] = exactPrompt + n },
            }),
        };
        (IReadOnlyList<IGenerationRunner> localLlm, IDisposable owner) = LocalLlmRunners.Create(bm, model, tokenizer);
        using IDisposable localLlmOwner = owner;
        runners.AddRange(localLlm);
        // One stream through the continuous-batching engine (Batching Auto, the default users get on a GQA model).
        using var batched = new LocalLlmEngine(bm, batching: BatchingMode.Auto);
        runners.Add(batched.Runner("LocalLlmChatClient, Batching Auto (engine)"));

        Dictionary<string, List<GenerationSample>> samples = runners.ToDictionary(r => r.Name, _ => new List<GenerationSample>());
        foreach (IGenerationRunner r in runners)
            await r.RunAsync(prompt, newTokens, cancellationToken); // warm-up
        for (int rep = 0; rep < reps; rep++)
        {
            // Round-robin so slow drift (thermal, neighbours) hits every engine alike.
            foreach (IGenerationRunner r in runners)
                samples[r.Name].Add(await r.RunAsync(prompt, newTokens, cancellationToken));
            context.Log($"overhead: repetition {rep + 1}/{reps}");
        }

        string baseline = runners[0].Name;
        Summary baseDecode = Summary.Of(samples[baseline].Select(s => s.DecodeTokensPerSecond));
        Summary baseTtft = Summary.Of(samples[baseline].Select(s => s.TtftMs));
        string? templated = runners.Select(r => r.Name).FirstOrDefault(n => n.Contains("chat template", StringComparison.Ordinal));

        var table = new MarkdownTable("engine", "prompt tok", "out tok", "TTFT median ms", "TTFT p95 ms", "decode median tok/s", "per-token p95 ms", "decode vs raw", "TTFT − raw ms");
        var labels = new List<string>();
        var decode = new List<double>();
        foreach (IGenerationRunner r in runners)
        {
            List<GenerationSample> s = samples[r.Name];
            Summary d = Summary.Of(s.Select(x => x.DecodeTokensPerSecond)), t = Summary.Of(s.Select(x => x.TtftMs));
            // LocalLlm applies the chat template; compare its TTFT with the raw loop that does too.
            string reference = r.Name.StartsWith("LocalLlm", StringComparison.Ordinal) && templated is not null ? templated : baseline;
            Summary refTtft = Summary.Of(samples[reference].Select(x => x.TtftMs));
            table.Row(r.Name, s[0].PromptTokens.ToString(), s[0].OutputTokens.ToString(), F(t.Median), F(t.P95), F(d.Median), F(Summary.Of(s.Select(x => x.PerTokenMs)).P95, "0.00"),
                F(d.Median / baseDecode.Median, "0.000") + "×", F(t.Median - refTtft.Median, "+0.0;-0.0") + (reference == baseline ? "" : " (vs templated raw)"));
            labels.Add(r.Name.Replace(" ", "\n", StringComparison.Ordinal));
            decode.Add(d.Median);
            context.Findings[$"overhead.decode.{r.Name}"] = d.Median;
            context.Findings[$"overhead.ttft.{r.Name}"] = t.Median;
        }
        context.Findings["overhead.raw.decode"] = baseDecode.Median;
        context.Findings["overhead.raw.ttft"] = baseTtft.Median;
        context.Findings["overhead.raw.prefill"] = Summary.Of(samples[baseline].Select(s => s.PrefillTokensPerSecond)).Median;
        context.Findings["overhead.raw.total"] = Summary.Of(samples[baseline].Select(s => s.TotalMs)).Median;
        context.Findings["overhead.promptTokens"] = exactPrompt;
        context.Findings["overhead.newTokens"] = newTokens;

        string plot = Plots.Bars(context.PlotPath("overhead-decode"), $"Decode rate, {bm.Name}, {exactPrompt}-token prompt, {newTokens} new (median of {reps})",
            "tokens/s", labels, decode);

        var md = new StringBuilder();
        md.AppendLine($"Model: {bm.Name}. Prompt {exactPrompt} tokens, {newTokens} new tokens (greedy, min_length = max_length so every engine makes exactly {newTokens}), warm-up 1, median and p95 of {reps}, engines interleaved per repetition.");
        md.AppendLine();
        md.AppendLine(table.ToString());
        md.AppendLine("TTFT includes tokenizing the prompt. ORT's client is given the raw text through an identity `PromptFormatter`, so it and the raw loop tokenize the same string; LocalLlm applies the model's chat template, so it is compared with a raw loop that applies the same template.");
        md.AppendLine("Semantic Kernel's ONNX connector (Microsoft.SemanticKernel.Connectors.Onnx) is not measured: the package does not resolve on this NuGet feed.");
        md.AppendLine();
        md.AppendLine($"![decode rate]({Path.GetFileName(plot)})");
        return new SuiteResult("Overhead: LocalLlm vs raw loop vs ORT's chat client", md.ToString(), [plot]);
    }
}
