using System.Diagnostics;
using LocalLlm.Embeddings;
using LocalLlm.Guardrails;
using LocalLlm.Guardrails.Attacks;

namespace LocalLlm.GuardTrainer;

/// <summary>
/// p50/p95 of <see cref="PromptAttackCheck"/> on a generated 512-token prompt: the v2 default (heuristics, hashed
/// n-grams, static encoder, v1 n-gram classifier), v1 alone, and the all-MiniLM-L6-v2 head, with all cores and with one
/// encoder thread. Generated text only.
/// </summary>
internal static class EncoderLatency
{
    public static async Task<int> RunAsync(int reps)
    {
        string[] words = "the quarterly report shows that revenue grew in every region while costs stayed flat and the team plans to hire two more engineers next spring".Split(' ');
        using var counter = new LocalEmbeddingGenerator(new LocalEmbeddingOptions { MaxTokens = 4096 });
        string prompt = "";
        for (int n = 0; counter.CountTokens(prompt) < 512; n++)
            prompt += words[n % words.Length] + (n % 17 == 16 ? ". " : " ");
        Console.WriteLine($"prompt: {counter.CountTokens(prompt)} tokens, {prompt.Length} characters, {PromptAttackEncoderClassifier.Windows(prompt).Count} windows; {reps} timed calls after 3 warm-up calls");
        Console.WriteLine();
        // Where v2's time goes, per part, over the prompt's windows.
        var windows = PromptAttackEncoderClassifier.Windows(prompt);
        foreach (var (part, run) in new (string, Action)[]
        {
            ("windows", () => PromptAttackEncoderClassifier.Windows(prompt)),
            ("hashed n-grams", () => { foreach (string w in windows) AttackNgrams.Features(w, cues: true); }),
            ("static encoder", () => { foreach (string w in windows) StaticEncoder.Shipped.Embed(w); }),
            ("v1 classifier (whole window, once)", () => PromptAttackClassifier.Shipped.Score(windows[0])),
        })
        {
            for (int i = 0; i < 3; i++) run();
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < reps; i++) run();
            Console.WriteLine($"v2 part {part}: {Stopwatch.GetElapsedTime(start).TotalMilliseconds / reps:0.00} ms mean");
        }
        Console.WriteLine();
        Console.WriteLine("| encoder threads | check | p50 ms | p95 ms | max ms |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: |");
        foreach (int threads in new[] { 0, 1 })
        {
            using var encoder = new LocalEmbeddingGenerator(new LocalEmbeddingOptions { IntraOpThreads = threads });
            var checks = new (string Name, IGuardrailCheck Check)[]
            {
                ("v2 default: n-grams + static encoder + v1 (no model run)", new PromptAttackCheck()),
                ("v1 n-gram classifier only", new PromptAttackCheck(PromptAttackClassifier.Shipped)),
                ("encoder (whole text + chunks)", new PromptAttackCheck(encoder)),
            };
            foreach (var (name, check) in checks)
            {
                var context = new GuardrailContext(GuardrailStage.Input, prompt);
                for (int i = 0; i < 3; i++)
                    await check.CheckAsync(context);
                var ms = new List<double>();
                for (int i = 0; i < reps; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    await check.CheckAsync(context);
                    ms.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                ms.Sort();
                Console.WriteLine($"| {(threads == 0 ? "all cores" : "1")} | {name} | {ms[ms.Count / 2]:0.0} | {ms[(int)Math.Min(ms.Count - 1, Math.Ceiling(ms.Count * 0.95) - 1)]:0.0} | {ms[^1]:0.0} |");
            }
        }
        return 0;
    }
}
