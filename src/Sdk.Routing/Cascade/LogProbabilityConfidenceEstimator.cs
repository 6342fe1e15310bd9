using Microsoft.Extensions.AI;

namespace LocalLlm.Routing.Cascade;

/// <summary>
/// Confidence from the source tier's own token log-probabilities: the geometric mean of the output tokens'
/// probabilities, exp(mean log p). Asks a LocalLlm tier for them with <c>WithLogProbabilities()</c>; a tier that
/// does not report them yields an unknown confidence.
/// </summary>
public sealed class LogProbabilityConfidenceEstimator : ConfidenceEstimator
{
    /// <inheritdoc/>
    public override ChatOptions PrepareOptions(ChatOptions options) => options.WithLogProbabilities();

    /// <inheritdoc/>
    public override ValueTask<double?> EstimateAsync(IReadOnlyList<ChatMessage> messages, ChatResponse response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        IReadOnlyList<double>? logProbabilities = response.GetTokenLogProbabilities() ?? FromMessages(response);
        if (logProbabilities is not { Count: > 0 })
            return new((double?)null);
        return new(Math.Exp(logProbabilities.Average()));
    }

    // A response assembled from streamed updates keeps the last update's properties on its message.
    private static IReadOnlyList<double>? FromMessages(ChatResponse response)
    {
        for (int i = response.Messages.Count - 1; i >= 0; i--)
        {
            if (response.Messages[i].AdditionalProperties?.TryGetValue(LocalLlmResponseExtensions.LogProbabilitiesKey, out object? value) == true)
                return value as IReadOnlyList<double>;
        }
        return null;
    }
}
