using Microsoft.Extensions.Logging;

namespace LocalLlm.Routing.Diagnostics;

/// <summary>Routing log messages (event ids 3xxx; never reuse a shipped id).</summary>
internal static partial class RoutingLog
{
    [LoggerMessage(3001, LogLevel.Debug, "Routed to {Tier} by {Strategy}: {Reason} ({OverheadMs:F3} ms)")]
    public static partial void Routed(ILogger logger, string tier, string strategy, string reason, double overheadMs);

    [LoggerMessage(3002, LogLevel.Information, "Escalated from {FromTier} to {ToTier}: {Reason}")]
    public static partial void Escalated(ILogger logger, string fromTier, string toTier, EscalationReason reason);

    [LoggerMessage(3003, LogLevel.Warning, "Tier {Tier} failed ({Outcome}); {Next}")]
    public static partial void TierFailed(ILogger logger, string tier, EscalationReason outcome, string next, Exception exception);

    [LoggerMessage(3004, LogLevel.Warning, "Escalation from {FromTier} failed; answering with the {FromTier} answer it had held back")]
    public static partial void EscalationFailedUsingHeldBack(ILogger logger, string fromTier, Exception exception);

    [LoggerMessage(3005, LogLevel.Warning, "The intent router answered outside its label set; strategy {Strategy} abstains")]
    public static partial void IntentOutsideLabels(ILogger logger, string strategy);

    [LoggerMessage(3006, LogLevel.Warning, "The intent router failed; strategy {Strategy} abstains")]
    public static partial void IntentRouterFailed(ILogger logger, string strategy, Exception exception);
}
