using System.Diagnostics;
using System.Runtime.CompilerServices;
using LocalLlm.Guardrails;
using LocalLlm.Guardrails.Pii;
using LocalLlm.Guardrails.Rules;
using Microsoft.Extensions.AI;

namespace LocalLlm.GuardTrainer;

/// <summary>
/// The latency the guardrails stage adds per streamed chunk: the same pre-made stream (synthetic text, 4-character
/// chunks like tokens) consumed raw and through output guardrails; median of several runs; the difference per chunk.
/// </summary>
internal static class StreamBench
{
    private const int Runs = 7;

    public static async Task<int> RunAsync()
    {
        Console.WriteLine("## Added latency per streamed chunk (output checks: pii + blocklist; 4-character chunks; median of 7 runs)");
        Console.WriteLine();
        Console.WriteLine("| answer length | hold-back | chunks | raw per chunk | guarded per chunk | added per chunk | worst chunk (guarded) |");
        Console.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (int length in new[] { 500, 2000, 8000 })
        {
            string[] chunks = Chunk(SyntheticAnswer(length), 4);
            foreach (var (holdback, name) in new[] { (GuardrailHoldback.Characters, "64 characters"), (GuardrailHoldback.Sentence, "sentence") })
            {
                var options = new GuardrailsOptions { Holdback = holdback }
                    .AddOutputCheck(new PiiCheck())
                    .AddOutputCheck(new BlocklistCheck(["forbidden phrase", "explosive"]));
                var inner = new ReplayClient(chunks);
                var guarded = new GuardrailsChatClient(inner, options);
                var raw = new List<double>();
                var safe = new List<double>();
                double worst = 0;
                for (int run = 0; run < Runs + 1; run++)
                {
                    double r = await Consume(inner, _ => { });
                    double w = 0;
                    double g = await Consume(guarded, gap => w = Math.Max(w, gap));
                    if (run == 0)
                        continue; // warm-up
                    raw.Add(r);
                    safe.Add(g);
                    worst = Math.Max(worst, w);
                }
                double rawPer = Median(raw) / chunks.Length * 1000, safePer = Median(safe) / chunks.Length * 1000;
                Console.WriteLine($"| {length} | {name} | {chunks.Length} | {rawPer:0.0} µs | {safePer:0.0} µs | {safePer - rawPer:0.0} µs | {worst * 1000:0} µs |");
            }
        }
        return 0;
    }

    private static async Task<double> Consume(IChatClient client, Action<double> gap)
    {
        long start = Stopwatch.GetTimestamp(), last = start;
        await foreach (var _ in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")]))
        {
            long now = Stopwatch.GetTimestamp();
            gap(Stopwatch.GetElapsedTime(last, now).TotalMilliseconds);
            last = now;
        }
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    // Ordinary prose with a few numbers and one e-mail address, so detectors have work to do.
    private static string SyntheticAnswer(int length)
    {
        string[] sentences =
        [
            "The report covers the third quarter and compares it with the same period last year. ",
            "Revenue grew by 12 percent while costs stayed flat, mostly thanks to lower shipping prices. ",
            "For questions, write to finance.team@example.com or ask your manager. ",
            "The next review is planned for March, after the audit has finished. ",
            "Each region sent 4 updates, and 2 of them arrived late because of the holidays. ",
        ];
        var sb = new System.Text.StringBuilder();
        for (int i = 0; sb.Length < length; i++)
            sb.Append(sentences[i % sentences.Length]);
        return sb.ToString(0, length);
    }

    private static string[] Chunk(string text, int size) =>
        [.. Enumerable.Range(0, (text.Length + size - 1) / size).Select(i => text.Substring(i * size, Math.Min(size, text.Length - i * size)))];

    private sealed class ReplayClient(string[] chunks) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, string.Concat(chunks))));

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.CompletedTask;
            foreach (string c in chunks)
                yield return new ChatResponseUpdate(ChatRole.Assistant, c);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
