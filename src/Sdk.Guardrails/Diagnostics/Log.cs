using Microsoft.Extensions.Logging;

namespace LocalLlm.Guardrails;

/// <summary>The guardrails' log messages (event ids 2xxx). None of them carries prompt or answer text.</summary>
internal static partial class Log
{
    [LoggerMessage(2001, LogLevel.Information, "Guardrail {Check} ({Stage}) found {Category} (score {Score:0.###}): {Action}")]
    public static partial void Finding(ILogger logger, string check, string stage, string category, double score, string action);

    // The exception itself goes to Debug only: its message may quote the checked text.
    [LoggerMessage(2002, LogLevel.Warning, "Guardrail {Check} ({Stage}) threw {ExceptionType}; treated as {FailureMode}")]
    public static partial void CheckFailed(ILogger logger, string check, string stage, string exceptionType, GuardrailFailureMode failureMode);

    [LoggerMessage(2006, LogLevel.Debug, "Guardrail {Check} failure details")]
    public static partial void CheckFailedDetails(ILogger logger, string check, Exception exception);

    [LoggerMessage(2003, LogLevel.Information, "Guardrails ended a stream after {ReleasedCharacters} released characters: {Category}")]
    public static partial void StreamStopped(ILogger logger, int releasedCharacters, string category);

    [LoggerMessage(2004, LogLevel.Debug, "Guardrails accepted candidate {Index} of {Count}")]
    public static partial void CandidateAccepted(ILogger logger, int index, int count);

    [LoggerMessage(2005, LogLevel.Information, "Guardrails rejected all {Count} candidates; answering with the fallback")]
    public static partial void AllCandidatesRejected(ILogger logger, int count);
}
