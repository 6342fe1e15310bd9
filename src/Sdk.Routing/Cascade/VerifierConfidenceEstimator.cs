using Microsoft.Extensions.AI;

namespace LocalLlm.Routing.Cascade;

/// <summary>Confidence from a verifier you supply: a rule, a checker, or another model.</summary>
public sealed class VerifierConfidenceEstimator : ConfidenceEstimator
{
    private readonly Func<IReadOnlyList<ChatMessage>, ChatResponse, CancellationToken, ValueTask<double?>> _verify;

    /// <summary>Initializes a new instance of the <see cref="VerifierConfidenceEstimator"/> class.</summary>
    /// <param name="verify">Returns a confidence in 0-1 for an answer, or <see langword="null"/> when it cannot tell.</param>
    /// <exception cref="ArgumentNullException"><paramref name="verify"/> is <see langword="null"/>.</exception>
    public VerifierConfidenceEstimator(Func<IReadOnlyList<ChatMessage>, ChatResponse, CancellationToken, ValueTask<double?>> verify) =>
        _verify = verify ?? throw new ArgumentNullException(nameof(verify));

    /// <inheritdoc/>
    public override ValueTask<double?> EstimateAsync(IReadOnlyList<ChatMessage> messages, ChatResponse response, CancellationToken cancellationToken) =>
        _verify(messages, response, cancellationToken);
}
