namespace LocalLlm.Bench.Generation;

/// <summary>Something that turns a prompt into N new tokens and times it: a raw ORT GenAI loop or a chat client.</summary>
internal interface IGenerationRunner
{
    string Name { get; }

    Task<GenerationSample> RunAsync(string prompt, int newTokens, CancellationToken cancellationToken);
}
