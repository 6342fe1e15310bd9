namespace LocalLlm.Routing;

/// <summary>Why a request left the tier first chosen for it.</summary>
public enum EscalationReason
{
    /// <summary>The first tier chosen answered.</summary>
    None = 0,

    /// <summary>The cascade's confidence in the small tier's answer was below its threshold.</summary>
    LowConfidence,

    /// <summary>A guardrail marked the small tier's answer for escalation (an <see cref="EscalationMarker"/> on the answer).</summary>
    GuardrailEscalate,

    /// <summary>Structured output was requested and the tier's answer did not satisfy it (invalid JSON, or LocalLlm's <see cref="StructuredOutputException"/>).</summary>
    InvalidStructuredOutput,

    /// <summary>The prompt did not fit the tier's context window (the tier said so by throwing, e.g. <see cref="PromptLengthException"/>).</summary>
    ContextOverflow,

    /// <summary>The tier failed (an exception, a refused connection or a timeout) and the request failed over.</summary>
    TierFailed,
}
