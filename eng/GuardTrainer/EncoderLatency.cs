using System.Diagnostics;
using LocalLlm.Embeddings;
using LocalLlm.Guardrails;
using LocalLlm.Guardrails.Attacks;

namespace LocalLlm.GuardTrainer;

/// <summary>
/// p50/p95 of <see cref="PromptAttackCheck"/> with the encoder (heuristics + n-gram + all-MiniLM-L6-v2 + head) on a
/// 512-token prompt and on a 2,300-character document, with all cores and with one thread. Generated text only.
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
        Console.WriteLine("| encoder threads | check | p50 ms | p95 ms | max ms |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: |");
        foreach (int threads in new[] { 0, 1 })
        {
            using var encoder = new LocalEmbeddingGenerator(new LocalEmbeddingOptions { IntraOpThreads = threads });
            var checks = new (string Name, IGuardrailCheck Check)[]
            {
                ("n-gram only (no encoder)", new PromptAttackCheck()),
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
