namespace LocalLlm.Guardrails.Rules;

/// <summary>
/// One match timeout for every guardrail regex. It stops catastrophic backtracking, not slow machines: the timeout
/// is wall-clock time, so under heavy CPU load a descheduled thread must not turn a short text into a failed check
/// (which blocks the request when checks fail closed). 250 ms did exactly that on a loaded 2-core machine.
/// </summary>
internal static class RegexLimits
{
    public const int TimeoutMilliseconds = 2000;

    public static TimeSpan Timeout { get; } = TimeSpan.FromMilliseconds(TimeoutMilliseconds);
}
