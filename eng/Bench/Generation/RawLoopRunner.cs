using System.Text.Json;

namespace LocalLlm.Bench.Generation;

/// <summary>
/// The baseline: ONNX Runtime GenAI's Generator driven directly, token by token, with each token decoded to text
/// (as every chat client must). Exactly <c>newTokens</c> tokens: max_length = min_length = prompt + new.
/// </summary>
internal sealed class RawLoopRunner(Model model, Tokenizer tokenizer, SearchSettings search, bool applyChatTemplate = false, string? name = null)
    : IGenerationRunner
{
    public string Name { get; } = name ?? (applyChatTemplate ? "raw ORT GenAI loop + chat template" : "raw ORT GenAI loop");

    public Task<GenerationSample> RunAsync(string prompt, int newTokens, CancellationToken cancellationToken) =>
        Task.FromResult(Run(prompt, newTokens, cancellationToken));

    public GenerationSample Run(string prompt, int newTokens, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        string text = applyChatTemplate ? Template(tokenizer, prompt) : prompt;
        using Sequences sequences = search.Batch > 1 ? tokenizer.EncodeBatch(Enumerable.Repeat(text, search.Batch).ToArray()) : tokenizer.Encode(text);
        int promptTokens = sequences[0].Length;
        using var p = new GeneratorParams(model);
        p.SetSearchOption("max_length", promptTokens + newTokens);
        p.SetSearchOption("min_length", promptTokens + newTokens);
        search.Apply(p);
        using var generator = new Generator(model, p);
        generator.AppendTokenSequences(sequences);
        using TokenizerStream stream = tokenizer.CreateStream();
        double first = 0;
        int produced = 0;
        while (!generator.IsDone())
        {
            cancellationToken.ThrowIfCancellationRequested();
            generator.GenerateNextToken();
            ReadOnlySpan<int> next = generator.GetNextTokens();
            _ = stream.Decode(next[0]);
            if (++produced == 1)
                first = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        double total = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        return new GenerationSample(promptTokens, produced, first, total - first);
    }

    /// <summary>The tokenizer's own chat template over one user message, with the generation prompt.</summary>
    public static string Template(Tokenizer tokenizer, string userText)
    {
        string messages = JsonSerializer.Serialize(new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = userText } });
        return tokenizer.ApplyChatTemplate(null, messages, null, true);
    }
}
