using LocalLlm.Guardrails;
using LocalLlm.Guardrails.Attacks;
using LocalLlm.Guardrails.Pii;
using LocalLlm.Routing;
using LocalLlm.Routing.Classifier;
using LocalLlm.Routing.Strategies;
using System.Globalization;
using LocalLlm.ModelForge;
using ForgeShape = LocalLlm.ModelForge.ModelShape;

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
        md.AppendLine(await LongAnswersAsync(context, greedy, cancellationToken));
        md.AppendLine("Per-check latency on real prompts (p50/p95 per check) is in docs/guardrails.md (`dotnet run --project eng/GuardTrainer -c Release -- eval`); the router classifier's own p50/p95 is in docs/routing.md.");
        return new SuiteResult("Middleware: guard and router overhead", md.ToString(), []);
    }

    // Streamed output checks run over overlapping windows, so their cost per token must stay flat as answers grow. A tiny
    // model decodes thousands of tokens a second, so the stage's own cost is as visible as it can be.
    private static async Task<string> LongAnswersAsync(BenchContext context, Func<string, int, ChatOptions> greedy, CancellationToken cancellationToken)
    {
        BenchModel tiny = context.Models.Get(ForgeShape.Tiny with { ContextLength = 8192 }, WeightPrecision.Int4, AttentionKind.GroupQueryAttention, 4);
        using var engine = new LocalLlmEngine(tiny);
        using IChatClient guarded = new ChatClientBuilder(engine.Client).UseGuardrails(g => g.AddOutputCheck(new PiiCheck())).Build();
        IGenerationRunner baseline = engine.Runner("unguarded");
        var checkedRunner = new ChatClientRunner("guarded", guarded, greedy);
        int[] lengths = context.Quick ? [100, 400] : [500, 1000, 2000, 4000];
        int reps = context.Reps(5);
        const string prompt = "Write a long story.";
        await baseline.RunAsync(prompt, 64, cancellationToken);
        await checkedRunner.RunAsync(prompt, 64, cancellationToken);

        var table = new MarkdownTable("answer tokens", "unguarded median ms", "guarded median ms", "guarded ÷ unguarded", "added µs per token");
        foreach (int n in lengths)
        {
            var plain = new List<double>();
            var guardedMs = new List<double>();
            for (int rep = 0; rep < reps; rep++) // interleaved, so drift hits both alike
            {
                var a = await baseline.RunAsync(prompt, n, cancellationToken);
                var b = await checkedRunner.RunAsync(prompt, n, cancellationToken);
                plain.Add(a.TtftMs + a.DecodeMs);
                guardedMs.Add(b.TtftMs + b.DecodeMs);
            }
            double p = Summary.Of(plain).Median, g = Summary.Of(guardedMs).Median;
            table.Row(n.ToString(CultureInfo.InvariantCulture), F(p), F(g), F(g / p, "0.000") + "×", F((g - p) * 1000 / n, "+0.0;-0.0"));
            context.Findings[$"middleware.long.{n}.ratio"] = g / p;
            context.Log($"middleware: long answer {n} tokens done");
        }
        return $"""

            ### Long streamed answers: the output check's cost per token

            Model: {tiny.Name} (context 8,192; it decodes far faster than a real model, so the stage's cost is as large a share as it can be). Greedy, exactly N new tokens, streamed; PII output check with the 64-character hold-back; median of {reps}, interleaved. The check sees overlapping windows of the answer (each character a bounded number of times), so the added time per token should not grow with N.

            {table}
            """;
    }
}
