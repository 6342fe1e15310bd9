using Microsoft.Extensions.Logging;

namespace LocalLlm.Embeddings;

/// <summary>Embeddings log events (1xxx, the Sdk range: 16xx). No input text at Information or above.</summary>
internal static partial class Log
{
    [LoggerMessage(1601, LogLevel.Information, "Loaded embedding model {ModelId}: {Dimensions} dimensions, at most {MaxTokens} tokens per input")]
    public static partial void ModelLoaded(ILogger logger, string modelId, int dimensions, int maxTokens);

    [LoggerMessage(1602, LogLevel.Warning, "{Count} of {Total} inputs were longer than {MaxTokens} tokens and were cut to fit")]
    public static partial void Truncated(ILogger logger, int count, int total, int maxTokens);
}
