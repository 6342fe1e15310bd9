using Microsoft.Extensions.Logging;

namespace LocalLlm;

/// <summary>Sdk log events (ids 1xxx; never reuse a shipped id). No prompt or output text at Information or above.</summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Information, "Using {Provider} execution provider: {Reason}")]
    public static partial void ProviderChosen(ILogger logger, string provider, string reason);

    [LoggerMessage(1011, LogLevel.Debug, "Native heap: {Outcome}")]
    public static partial void NativeHeap(ILogger logger, string outcome);

    [LoggerMessage(1002, LogLevel.Warning, "Model folder {Folder}: {Warning}")]
    public static partial void ModelFolderWarning(ILogger logger, string folder, string warning);

    [LoggerMessage(1003, LogLevel.Information, "Loaded model {ModelId}: {Precision}, {Layers} layers, context {ContextLength}")]
    public static partial void ModelLoaded(ILogger logger, string modelId, string precision, int layers, int contextLength);

    [LoggerMessage(1004, LogLevel.Debug, "Released native model {ModelId}")]
    public static partial void ModelReleased(ILogger logger, string modelId);

    [LoggerMessage(1005, LogLevel.Warning, "ChatOptions.{Option} = {Value} is not supported by ONNX Runtime GenAI and was ignored. {Hint}")]
    public static partial void UnsupportedOption(ILogger logger, string option, object? value, string hint);

    [LoggerMessage(1006, LogLevel.Information, "Prompt of {PromptTokens} tokens exceeded the budget of {Budget}; dropped {DroppedMessages} oldest messages")]
    public static partial void PromptTruncated(ILogger logger, int promptTokens, int budget, int droppedMessages);

    [LoggerMessage(1007, LogLevel.Debug, "Request {ResponseId} finished: {FinishReason}, {PromptTokens} prompt + {OutputTokens} output tokens, TTFT {TtftMs:F1} ms, {DecodeRate:F1} tok/s")]
    public static partial void RequestFinished(ILogger logger, string responseId, string finishReason, int promptTokens, int outputTokens, double ttftMs, double decodeRate);

    [LoggerMessage(1008, LogLevel.Trace, "Prompt for {ResponseId}: {Prompt}")]
    public static partial void PromptText(ILogger logger, string responseId, string prompt);

    [LoggerMessage(1009, LogLevel.Warning, "Structured output for {ResponseId} did not parse as JSON: {Error}")]
    public static partial void InvalidStructuredOutput(ILogger logger, string responseId, string error);

    [LoggerMessage(1010, LogLevel.Debug, "Request {ResponseId} cancelled after {OutputTokens} output tokens")]
    public static partial void RequestCancelled(ILogger logger, string responseId, int outputTokens);

    [LoggerMessage(1100, LogLevel.Debug, "Evicted a cached generator of {Tokens} tokens ({Bytes} bytes); {HeldBytes} bytes of KV cache still held")]
    public static partial void KvCacheEvicted(ILogger logger, int tokens, long bytes, long heldBytes);

    [LoggerMessage(1101, LogLevel.Warning, "A request needs {Bytes} bytes of KV cache, more than the budget of {Budget} bytes (KvCacheBudgetBytes); it runs alone")]
    public static partial void RequestOverBudget(ILogger logger, long bytes, long budget);

    [LoggerMessage(1102, LogLevel.Debug, "Request {ResponseId} reused {ReusedTokens} of {PromptTokens} prompt tokens from a cached generator")]
    public static partial void KvCacheReused(ILogger logger, string responseId, int reusedTokens, int promptTokens);

    // 1103 (the native engine's failed request) is retired with that engine.

    [LoggerMessage(1104, LogLevel.Information, "Batching is off for model {ModelId}: {Reason}; each request runs its own generator")]
    public static partial void BatchingUnavailable(ILogger logger, string modelId, string reason);

    [LoggerMessage(1600, LogLevel.Debug, "Request {ResponseId} runs on its own generator, not the batching engine: {Reason}")]
    public static partial void BatchingFallback(ILogger logger, string responseId, string reason);

    [LoggerMessage(1601, LogLevel.Error, "The batching engine of model {ModelId} stopped; its requests failed")]
    public static partial void BatchingEngineFailed(ILogger logger, string modelId, Exception exception);

    [LoggerMessage(1602, LogLevel.Information, "Batching engine for model {ModelId}: {Slots} slots of {SlotLength} positions, {KvBytes} bytes of KV cache reserved")]
    public static partial void BatchingStarted(ILogger logger, string modelId, int slots, int slotLength, long kvBytes);
}
