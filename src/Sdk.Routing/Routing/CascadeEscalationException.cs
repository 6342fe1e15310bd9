namespace LocalLlm.Routing;

/// <summary>Thrown inside the router when the cascade rejects the source tier's answer, so the failover base moves on.</summary>
internal sealed class CascadeEscalationException(EscalationReason reason)
    : Exception($"The cascade escalated: {reason}.")
{
    public EscalationReason Reason { get; } = reason;
}
