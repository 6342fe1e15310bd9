using Microsoft.Extensions.AI;

namespace LocalLlm.Routing.Cascade;

/// <summary>Measures how far a cascade can trust the source tier's answer.</summary>
public abstract class ConfidenceEstimator
{
    /// <summary>Adjusts the options sent to the source tier (for example to ask for token log-probabilities).</summary>
    /// <param name="options">A copy of the request's options, owned by this call; change it freely.</param>
    /// <returns>The options to send.</returns>
    public virtual ChatOptions PrepareOptions(ChatOptions options) => options;

    /// <summary>Estimates the confidence in an answer.</summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="response">The source tier's answer.</param>
    /// <param name="cancellationToken">The request's cancellation token.</param>
    /// <returns>A confidence in 0-1, or <see langword="null"/> if it cannot be measured.</returns>
    public abstract ValueTask<double?> EstimateAsync(IReadOnlyList<ChatMessage> messages, ChatResponse response, CancellationToken cancellationToken);
}
