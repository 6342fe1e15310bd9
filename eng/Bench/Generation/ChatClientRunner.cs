namespace LocalLlm.Bench.Generation;

/// <summary>Times any <see cref="IChatClient"/> by streaming: first text update is the first token.</summary>
internal sealed class ChatClientRunner(string name, IChatClient client, Func<string, int, ChatOptions> options) : IGenerationRunner
{
    public string Name { get; } = name;

    public async Task<GenerationSample> RunAsync(string prompt, int newTokens, CancellationToken cancellationToken)
    {
        ChatOptions chatOptions = options(prompt, newTokens);
        long start = Stopwatch.GetTimestamp();
        double first = -1, last = 0;
        int updates = 0;
        long? inputTokens = null, outputTokens = null;
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, prompt)], chatOptions, cancellationToken))
        {
            if (!string.IsNullOrEmpty(update.Text))
            {
                double now = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (first < 0)
                    first = now;
                last = now;
                updates++;
            }
            foreach (UsageContent usage in update.Contents.OfType<UsageContent>())
            {
                inputTokens = usage.Details.InputTokenCount ?? inputTokens;
                outputTokens = usage.Details.OutputTokenCount ?? outputTokens;
            }
        }
        if (first < 0)
            throw new InvalidOperationException($"{Name} produced no text for a {prompt.Length}-character prompt.");
        return new GenerationSample((int)(inputTokens ?? 0), (int)(outputTokens ?? updates), first, last - first);
    }
}
