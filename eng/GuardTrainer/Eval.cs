using System.Diagnostics;
using LocalLlm.Guardrails;
using LocalLlm.Guardrails.Attacks;
using LocalLlm.Guardrails.Pii;
using LocalLlm.Guardrails.Rules;

namespace LocalLlm.GuardTrainer;

/// <summary>
/// Measures the shipped checks on the shared datasets: attack detection and false-positive rates, PII precision and
/// recall per type (span overlap and exact), and p50/p95 latency per check. Prints counts and rates, never text.
/// </summary>
internal static class Eval
{
    private static readonly (PiiEntity Entity, string Name)[] s_piiTypes =
    [
        (PiiEntity.EmailAddress, "EMAIL_ADDRESS"), (PiiEntity.CreditCard, "CREDIT_CARD"), (PiiEntity.PhoneNumber, "PHONE_NUMBER"),
        (PiiEntity.IbanCode, "IBAN_CODE"), (PiiEntity.UsSsn, "US_SSN"), (PiiEntity.IpAddress, "IP_ADDRESS"),
    ];

    public static async Task<int> RunAsync()
    {
        var attacks = Datasets.Attacks();
        var ordinary = Datasets.Ordinary();
        var classifier = PromptAttackClassifier.Shipped;
        Console.WriteLine($"# Guardrails evaluation ({DateTime.UtcNow:yyyy-MM-dd}); classifier threshold {classifier.Threshold:0.0000}");
        Console.WriteLine();

        // Score every held-out prompt once.
        var heldOut = attacks.Where(p => p.Split is Split.Dev or Split.HeldOutMethod).Concat(ordinary.Where(p => p.Split == Split.Dev)).ToList();
        var scored = heldOut.Select(p => (Prompt: p, Rule: PromptAttackHeuristics.Match(p.Text) is not null, P: classifier.Score(p.Text))).ToList();

        Console.WriteLine("## Prompt attacks (flagged share; attack rows = detection rate, ordinary rows = false-positive rate)");
        Console.WriteLine();
        Console.WriteLine("| dataset (held-out part) | prompts | heuristics | classifier | heuristics + classifier |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        void Row(string name, Func<LabelledPrompt, bool> select)
        {
            var rows = scored.Where(s => select(s.Prompt)).ToList();
            if (rows.Count == 0)
                return;
            double Rate(Func<(LabelledPrompt Prompt, bool Rule, double P), bool> flagged) => rows.Count(flagged) / (double)rows.Count;
            Console.WriteLine($"| {name} | {rows.Count} | {Rate(r => r.Rule):P1} | {Rate(r => r.P >= classifier.Threshold):P1} | {Rate(r => r.Rule || r.P >= classifier.Threshold):P1} |");
        }
        Row("attacks, dev behaviours, all trained methods", p => p.IsAttack && p.Split == Split.Dev);
        foreach (string method in attacks.Where(p => p.Split == Split.Dev).Select(p => p.Source).Distinct().Order())
            Row($"  {method} (dev behaviours)", p => p.IsAttack && p.Split == Split.Dev && p.Source == method);
        Row($"{Datasets.HeldOutMethod} (method never trained on), all behaviours", p => p.IsAttack && p.Split == Split.HeldOutMethod);
        Row($"{Datasets.HeldOutMethod}, dev behaviours only", p => p.IsAttack && p.Split == Split.HeldOutMethod && p.Behavior % 5 == 0);
        Row("ordinary prompts, dev (all sources)", p => !p.IsAttack);
        foreach (string source in ordinary.Select(p => p.Source).Distinct().Order())
            Row($"  {source} (dev)", p => !p.IsAttack && p.Source == source);
        Console.WriteLine();

        Console.WriteLine("## PII in presidio synth_dataset_v2 (1,500 sentences; spans start inclusive, end exclusive)");
        Console.WriteLine();
        Console.WriteLine("| entity | gold spans | found | precision (overlap) | recall (overlap) | precision (exact) | recall (exact) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        var sentences = Datasets.Presidio();
        var predictions = sentences.Select(s => PiiDetector.Find(s.Text)).ToList();
        foreach (var (entity, name) in s_piiTypes)
        {
            int gold = 0, found = 0, tpOverlap = 0, tpExact = 0, recalledOverlap = 0, recalledExact = 0;
            for (int i = 0; i < sentences.Count; i++)
            {
                var goldSpans = sentences[i].Spans.Where(s => s.Type == name).ToList();
                var predicted = predictions[i].Where(m => m.Entity == entity).ToList();
                gold += goldSpans.Count;
                found += predicted.Count;
                tpOverlap += predicted.Count(m => goldSpans.Any(g => m.Start < g.End && g.Start < m.End));
                tpExact += predicted.Count(m => goldSpans.Any(g => m.Start == g.Start && m.End == g.End));
                recalledOverlap += goldSpans.Count(g => predicted.Any(m => m.Start < g.End && g.Start < m.End));
                recalledExact += goldSpans.Count(g => predicted.Any(m => m.Start == g.Start && m.End == g.End));
            }
            static string Ratio(int a, int b) => b == 0 ? "n/a" : $"{a / (double)b:0.000}";
            Console.WriteLine($"| {name} | {gold} | {found} | {Ratio(tpOverlap, found)} | {Ratio(recalledOverlap, gold)} | {Ratio(tpExact, found)} | {Ratio(recalledExact, gold)} |");
        }
        Console.WriteLine();

        Console.WriteLine("## Latency per check and prompt (held-out prompts, one thread, after warm-up)");
        Console.WriteLine();
        Console.WriteLine("| check | prompts | p50 | p95 | max |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        var texts = heldOut.Select(p => p.Text).ToList();
        var pii = new PiiCheck();
        var blocklist = new BlocklistCheck(["bomb", "credit card dump", "meth", "kill yourself", "explosive"]);
        var regex = new RegexCheck([@"\bproject\s+falcon\b", @"\bEMP-\d{5}\b"]);
        var length = new MaxLengthCheck(8000);
        var attackCheck = new PromptAttackCheck();
        var heuristicsOnly = new PromptAttackCheck(useClassifier: false);
        await Latency("pii (6 detectors)", pii, texts);
        await Latency("blocklist (5 terms)", blocklist, texts);
        await Latency("regex (2 patterns)", regex, texts);
        await Latency("max_length", length, texts);
        await Latency("prompt_attack heuristics", heuristicsOnly, texts);
        await Latency("prompt_attack (heuristics + classifier)", attackCheck, texts);
        await Latency("all rules together (pii, blocklist, regex, length, heuristics)", new Composite(pii, blocklist, regex, length, heuristicsOnly), texts);
        return 0;
    }

    private static async Task Latency(string name, IGuardrailCheck check, List<string> texts)
    {
        foreach (string t in texts.Take(50))
            await check.CheckAsync(new GuardrailContext(GuardrailStage.Input, t));
        var times = new double[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await check.CheckAsync(new GuardrailContext(GuardrailStage.Input, texts[i]));
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        Console.WriteLine($"| {name} | {times.Length} | {times[times.Length / 2]:0.000} ms | {times[(int)(times.Length * 0.95)]:0.000} ms | {times[^1]:0.000} ms |");
    }

    private sealed class Composite(params IGuardrailCheck[] checks) : IGuardrailCheck
    {
        public string Name => "rules";

        public async ValueTask<GuardrailVerdict> CheckAsync(GuardrailContext context, CancellationToken cancellationToken = default)
        {
            foreach (var check in checks)
                await check.CheckAsync(context, cancellationToken);
            return GuardrailVerdict.Allow;
        }
    }
}
