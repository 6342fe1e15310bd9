namespace LocalLlm;

/// <summary>
/// The one place an answer's timings become <see cref="GenerationStats"/> and its usage becomes metrics, for every
/// path (one request, beams, candidates, batched rows).
/// </summary>
internal static class Usage
{
    /// <param name="promptTokens">Prompt tokens of all rows.</param>
    /// <param name="reused">Prompt tokens served from a cached KV state (not prefilled).</param>
    /// <param name="outputTokens">Output tokens of all rows.</param>
    /// <param name="rows">Rows decoded together: the first token of each is not counted in the decode rate.</param>
    /// <param name="prefill">Time to the end of prefill.</param>
    /// <param name="first">Time to the first output token.</param>
    /// <param name="last">Time to the last output token.</param>
    public static GenerationStats Measure(int promptTokens, int reused, int outputTokens, int rows, TimeSpan prefill, TimeSpan first, TimeSpan last) => new()
    {
        PromptTokens = promptTokens,
        ReusedPromptTokens = reused,
        OutputTokens = outputTokens,
        TimeToFirstToken = first,
        DecodeTime = last - first,
        PrefillTokensPerSecond = prefill > TimeSpan.Zero ? (promptTokens - reused) / prefill.TotalSeconds : 0,
        DecodeTokensPerSecond = outputTokens > rows && last > first ? (outputTokens - rows) / (last - first).TotalSeconds : 0,
    };

    /// <summary>Records the answer's tokens, time to first token and rates (tagged with the model by <see cref="ModelTelemetry"/>).</summary>
    /// <param name="telemetry">The client's instruments.</param>
    /// <param name="stats">The answer's measurements.</param>
    /// <param name="computedOutputTokens">Output tokens the model computed (beams: every beam's step), when more than the answer's.</param>
    public static void Record(ModelTelemetry telemetry, GenerationStats stats, long? computedOutputTokens = null)
    {
        telemetry.PromptTokens.Add(stats.PromptTokens);
        telemetry.OutputTokens.Add(computedOutputTokens ?? stats.OutputTokens);
        if (stats.OutputTokens > 0) telemetry.TimeToFirstToken.Record(stats.TimeToFirstToken.TotalSeconds);
        if (stats.PrefillTokensPerSecond > 0) telemetry.PrefillRate.Record(stats.PrefillTokensPerSecond);
        if (stats.DecodeTokensPerSecond > 0)
        {
            telemetry.DecodeRate.Record(stats.DecodeTokensPerSecond);
            telemetry.TimePerOutputToken.Record(1 / stats.DecodeTokensPerSecond);
        }
    }
}
