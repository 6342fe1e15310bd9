using LocalLlm.Guardrails;
using LocalLlm.Guardrails.Attacks;
using LocalLlm.Guardrails.Pii;
using LocalLlm.Routing;
using LocalLlm.Routing.Classifier;
using LocalLlm.Routing.Strategies;

namespace LocalLlm.Bench.Suites;

/// <summary>What the guardrails and routing stages add on top of the same LocalLlm client.</summary>
internal sealed class MiddlewareSuite : ISuite
{
    public string Name => "middleware";

    public string Description => "guard and router overhead";

    public async Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        BenchModel bm = context.Models.Primary();
        int promptTokens = context.Quick ? 32 : 128, newTokens = context.Quick ? 16 : 128, reps = context.Reps(5);
        string prompt;
        using (var model = new Model(bm.Folder))
        using (var tokenizer = new Tokenizer(model))
            prompt = PromptBuilder.ForTokens(tokenizer, promptTokens);

        using var engine = new LocalLlmEngine(bm);
        // Every stage wraps the very same client, so the differences are the stages' own cost.
        Func<string, int, ChatOptions> greedy = (_, n) => new ChatOptions { MaxOutputTokens = n, Temperature = 0 }.WithMinOutputTokens(n);
        IChatClient Guarded(GuardrailHoldback holdback) => new ChatClientBuilder(engine.Client).UseGuardrails(g =>
        {
            g.AddInputCheck(new PromptAttackCheck()).AddInputCheck(new PiiCheck()).AddOutputCheck(new PiiCheck());
            g.Holdback = holdback;
        }).Build();
        var router = new HybridRoutingChatClient(
            [new RoutingTier("small", engine.Client), new RoutingTier("large", engine.Client)],
            new HybridRoutingOptions { Strategies = { new ClassifierRoutingStrategy(PromptClassifier.LoadDefault(), largeShare: 0.5) } });

        IGenerationRunner[] runners =
        [
            engine.Runner("LocalLlmChatClient (baseline)"),
            new ChatClientRunner("+ guardrails: attack + PII in, PII out, 64-char hold-back", Guarded(GuardrailHoldback.Characters), greedy),
            new ChatClientRunner("+ guardrails, sentence hold-back", Guarded(GuardrailHoldback.Sentence), greedy),
            new ChatClientRunner("+ hybrid router (classifier; both tiers this client)", router, greedy),
        ];

        Dictionary<string, List<GenerationSample>> samples = runners.ToDictionary(r => r.Name, _ => new List<GenerationSample>());
        foreach (IGenerationRunner r in runners)
            await r.RunAsync(prompt, newTokens, cancellationToken); // warm-up (also loads the classifiers)
        for (int rep = 0; rep < reps; rep++)
        {
            foreach (IGenerationRunner r in runners) // interleaved, so drift hits every stage alike
                samples[r.Name].Add(await r.RunAsync(prompt, newTokens, cancellationToken));
            context.Log($"middleware: repetition {rep + 1}/{reps}");
        }

        List<GenerationSample> baseline = samples[runners[0].Name];
        double baseTtft = Summary.Of(baseline.Select(s => s.TtftMs)).Median, baseTotal = Summary.Of(baseline.Select(s => s.TtftMs + s.DecodeMs)).Median;
        var table = new MarkdownTable("pipeline", "first visible text median ms", "added ms", "whole answer median ms", "added ms", "whole answer vs baseline");
        foreach (IGenerationRunner r in runners)
        {
            List<GenerationSample> s = samples[r.Name];
            double ttft = Summary.Of(s.Select(x => x.TtftMs)).Median, total = Summary.Of(s.Select(x => x.TtftMs + x.DecodeMs)).Median;
            table.Row(r.Name, F(ttft), F(ttft - baseTtft, "+0.0;-0.0"), F(total), F(total - baseTotal, "+0.0;-0.0"), F(total / baseTotal, "0.000") + "×");
            context.Findings[$"middleware.total.{r.Name}"] = total;
        }

        var md = new StringBuilder();
        md.AppendLine($"Model: {bm.Name}. Prompt {promptTokens} tokens, exactly {newTokens} new tokens (greedy), streamed; warm-up 1, median of {reps}, stages interleaved per repetition. " +
            "\"First visible text\" is when the caller sees the first text: guardrails hold text back until the output checks have seen it (64 characters, or a whole sentence), so that delay is the price of never leaking flagged text.");
        md.AppendLine();
        md.AppendLine(table.ToString());
        md.AppendLine("Per-check latency on real prompts (p50/p95 per check) is in docs/guardrails.md (`dotnet run --project eng/GuardTrainer -c Release -- eval`); the router classifier's own p50/p95 is in docs/routing.md.");
        return new SuiteResult("Middleware: guard and router overhead", md.ToString(), []);
    }
}
