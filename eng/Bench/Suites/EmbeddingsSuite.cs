using LocalLlm.Embeddings;

namespace LocalLlm.Bench.Suites;

/// <summary>Throughput and latency of the built-in sentence encoder (LocalLlm.Embeddings, all-MiniLM-L6-v2).</summary>
internal sealed class EmbeddingsSuite : ISuite
{
    public string Name => "embeddings";

    public string Description => "sentence encoder throughput";

    public async Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        int reps = context.Reps(5), sentences = context.Quick ? 32 : 256;
        // Sentences of 10-25 words (about 15-35 tokens), the length of a typical RAG query or chunk sentence.
        var random = new Random(7);
        string[] words = "the model reads each sentence and writes one vector so that texts with similar meaning end up close together in the space while unrelated ones stay far apart for search and clustering".Split(' ');
        string[] texts = Enumerable.Range(0, sentences)
            .Select(_ => string.Join(' ', Enumerable.Range(0, random.Next(10, 26)).Select(_ => words[random.Next(words.Length)])) + ".")
            .ToArray();

        var table = new MarkdownTable("input", "batch", "inputs", "median sentences/s", "median ms per call", "p95 ms per call");
        foreach (int threads in new[] { 1, 0 })
        {
            using var generator = new LocalEmbeddingGenerator(new LocalEmbeddingOptions { BatchSize = 32, IntraOpThreads = threads, MaxTokens = 512 });
            string label = threads == 1 ? "1 thread" : "all cores";
            await generator.GenerateAsync(texts.Take(32), cancellationToken: cancellationToken); // warm-up
            foreach (int batch in new[] { 1, 32 })
            {
                var perCall = new List<double>();
                var rates = new List<double>();
                for (int rep = 0; rep < reps; rep++)
                {
                    long start = Stopwatch.GetTimestamp();
                    for (int i = 0; i < texts.Length; i += batch)
                    {
                        long call = Stopwatch.GetTimestamp();
                        await generator.GenerateAsync(texts.Skip(i).Take(batch), cancellationToken: cancellationToken);
                        perCall.Add(Stopwatch.GetElapsedTime(call).TotalMilliseconds);
                    }
                    rates.Add(texts.Length / Stopwatch.GetElapsedTime(start).TotalSeconds);
                }
                var c = Summary.Of(perCall);
                table.Row($"sentences, {label}", batch.ToString(), texts.Length.ToString(), F(Summary.Of(rates).Median), F(c.Median, "0.00"), F(c.P95, "0.00"));
                context.Findings[$"embeddings.rate.{threads}.{batch}"] = Summary.Of(rates).Median;
            }
            // One long input: what a guard pays for a 512-token prompt, and 256 (the model's trained length).
            foreach (int tokens in new[] { 256, 512 })
            {
                string longText = string.Join(' ', Enumerable.Range(0, tokens * 2).Select(i => words[i % words.Length]));
                using var cut = new LocalEmbeddingGenerator(new LocalEmbeddingOptions { MaxTokens = tokens, IntraOpThreads = threads });
                await cut.GenerateAsync([longText], cancellationToken: cancellationToken);
                var ms = new List<double>();
                for (int rep = 0; rep < Math.Max(reps * 4, 5); rep++)
                {
                    long call = Stopwatch.GetTimestamp();
                    await cut.GenerateAsync([longText], cancellationToken: cancellationToken);
                    ms.Add(Stopwatch.GetElapsedTime(call).TotalMilliseconds);
                }
                var s = Summary.Of(ms);
                table.Row($"one {tokens}-token input, {label}", "1", ms.Count.ToString(), F(1000 / s.Median), F(s.Median, "0.00"), F(s.P95, "0.00"));
            }
            context.Log($"embeddings: {label} done");
        }

        var md = new StringBuilder();
        md.AppendLine($"Model: built-in all-MiniLM-L6-v2 (fp32, 384 dimensions), {sentences} generated sentences of 10-25 words; warm-up 1, {reps} repetitions. " +
            "Batch 32 pads each batch to its longest input (inputs are grouped by length first).");
        md.AppendLine();
        md.AppendLine(table.ToString());
        return new SuiteResult("Embeddings: sentence encoder throughput", md.ToString(), []);
    }
}
