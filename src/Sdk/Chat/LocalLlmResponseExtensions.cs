using Microsoft.Extensions.AI;

namespace LocalLlm;

/// <summary>Reads what LocalLlm attaches to responses.</summary>
public static class LocalLlmResponseExtensions
{
    /// <summary>The AdditionalProperties key of <see cref="GenerationStats"/>.</summary>
    public const string StatsKey = "localllm.stats";

    /// <summary>The AdditionalProperties key of the per-token log-probabilities (double[]).</summary>
    public const string LogProbabilitiesKey = "localllm.logprobs";

    /// <summary>Token counts and timings of the request, or null when another client answered.</summary>
    public static GenerationStats? GetGenerationStats(this ChatResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return response.AdditionalProperties?.TryGetValue(StatsKey, out var v) == true ? v as GenerationStats : null;
    }

    /// <summary>Token counts and timings, on the last update of a stream.</summary>
    public static GenerationStats? GetGenerationStats(this ChatResponseUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        return update.AdditionalProperties?.TryGetValue(StatsKey, out var v) == true ? v as GenerationStats : null;
    }

    /// <summary>The natural-log probability of each output token under the model's distribution (before temperature), when requested with <see cref="LocalLlmChatOptionsExtensions.WithLogProbabilities"/>.</summary>
    public static IReadOnlyList<double>? GetTokenLogProbabilities(this ChatResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return response.AdditionalProperties?.TryGetValue(LogProbabilitiesKey, out var v) == true ? v as IReadOnlyList<double> : null;
    }
}
