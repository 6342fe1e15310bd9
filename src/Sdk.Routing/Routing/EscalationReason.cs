namespace LocalLlm.Routing;

/// <summary>Why a request left the tier first chosen for it.</summary>
public enum EscalationReason
{
    /// <summary>The first tier chosen answered.</summary>
    None = 0,

    /// <summary>The cascade's confidence in the small tier's answer was below its threshold.</summary>
    LowConfidence,

    /// <summary>A guardrail marked the small tier's answer for escalation (<see cref="RoutingPropertyNames.GuardrailsEscalate"/>).</summary>
    GuardrailEscalate,

    /// <summary>Structured output was requested and the small tier's answer did not satisfy it (invalid JSON).</summary>
    InvalidStructuredOutput,

    /// <summary>The prompt did not fit the small tier's context window (the tier said so by throwing).</summary>
    ContextOverflow,

    /// <summary>The tier failed (an exception, a refused connection or a timeout) and the request failed over.</summary>
    TierFailed,
}
