using Microsoft.Extensions.Logging;

namespace LocalLlm;

/// <summary>Sampling and degeneration-guard log events (ids 1200–1299). No output text at Information or above.</summary>
internal static partial class SamplingLog
{
    [LoggerMessage(1200, LogLevel.Debug, "Sampling preset {Preset} applied: temperature {Temperature}, top-p {TopP}, top-k {TopK} (forced: {Forced})")]
    public static partial void PresetApplied(ILogger logger, string preset, float? temperature, float? topP, int? topK, bool forced);

    [LoggerMessage(1201, LogLevel.Warning, "Degenerate output on attempt {Attempt}: {Signal} after {Tokens} tokens ({Detail})")]
    public static partial void Detected(ILogger logger, int attempt, DegenerationSignal signal, int tokens, string detail);

    [LoggerMessage(1202, LogLevel.Information, "Retrying with remedy {Remedy} (attempt {Attempt})")]
    public static partial void Retrying(ILogger logger, DegenerationRemedy remedy, int attempt);

    [LoggerMessage(1203, LogLevel.Warning, "Output still degenerate after {Retries} retries; returning it marked with finish reason '{FinishReason}'")]
    public static partial void Unresolved(ILogger logger, int retries, string finishReason);

    [LoggerMessage(1204, LogLevel.Warning, "Stream ended on a loop after text was already shown; {HeldBack} held-back updates dropped")]
    public static partial void StreamEnded(ILogger logger, int heldBack);
}
