using LocalLlm.ModelForge;

namespace LocalLlm.Bench.Suites;

/// <summary>
/// What a LoRA adapter costs: the primary shape without LoRA inputs, with rank-16 LoRA inputs on every query
/// projection (defaults zero, no adapter), and with an adapter active (seeded values), through LocalLlm's client.
/// </summary>
internal sealed class AdaptersSuite : ISuite
{
    private const int Rank = 16;

    public string Name => "adapters";

    public string Description => "decode tok/s and TTFT without LoRA inputs, with them, and with an adapter active";

    public async Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        BenchModel plain = context.Models.Primary();
        BenchModel lora = context.Models.Get(context.Models.PrimaryShape, WeightPrecision.Int4, AttentionKind.GroupQueryAttention, 4, Rank);
        string adapter = Path.Combine(Path.GetDirectoryName(lora.Folder)!, $"adapter-r{Rank}-{Path.GetFileName(lora.Folder)}.onnx_adapter");
        if (!File.Exists(adapter)) Forge.WriteRandomAdapter(lora.Forged!, 1, adapter);
        int promptTokens = context.Quick ? 32 : 128, newTokens = context.Quick ? 16 : 64, reps = context.Reps(5);

        var rows = new List<(string Name, Summary Decode, Summary Ttft)>();
        foreach (var (name, model, active) in new[] { ("no LoRA inputs", plain, false), ($"LoRA inputs r{Rank}, no adapter", lora, false), ($"adapter active (r{Rank})", lora, true) })
        {
            context.Log($"adapters: {name}");
            using var engine = new LocalLlmEngine(model.Folder, adapters: active ? new Dictionary<string, string> { ["bench"] = adapter } : null);
            string prompt = PromptBuilder.ForTokens(engine.Tokenizer, promptTokens);
            IGenerationRunner runner = engine.Runner(name, active ? "bench" : null);
            await runner.RunAsync(prompt, newTokens, cancellationToken); // warm-up
            var samples = new List<GenerationSample>();
            for (int i = 0; i < reps; i++)
                samples.Add(await runner.RunAsync(prompt, newTokens, cancellationToken));
            rows.Add((name, Summary.Of(samples.Select(s => s.DecodeTokensPerSecond)), Summary.Of(samples.Select(s => s.TtftMs))));
        }

        var table = new MarkdownTable("model (LocalLlmChatClient, greedy)", "decode tok/s median", "decode tok/s p95", "TTFT median ms", "decode vs no LoRA");
        foreach (var row in rows)
            table.Row(row.Name, F(row.Decode.Median), F(row.Decode.P95), F(row.Ttft.Median), F(row.Decode.Median / rows[0].Decode.Median, "0.00") + "×");
        context.Findings["adapters.decode_ratio"] = rows[2].Decode.Median / rows[0].Decode.Median;
        var md = new StringBuilder();
        md.AppendLine($"Model: {plain.Name}, and the same shape with rank-{Rank} LoRA inputs on every query projection (ModelForge `LoraRank`; the adapter is `Forge.WriteRandomAdapter`, seeded values). Prompt {promptTokens} tokens, {newTokens} new tokens, warm-up 1, median of {reps}. The LoRA branch runs whether or not an adapter is active (its inputs default to zeros), so the middle row is the price of a model exported with LoRA inputs and the last the price of feeding an adapter.");
        md.AppendLine();
        md.AppendLine(table.ToString());
        return new SuiteResult("LoRA adapters: decode speed with and without an adapter", md.ToString(), []);
    }
}
