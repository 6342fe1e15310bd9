namespace LocalLlm;

/// <summary>
/// The search options a Generator is created with and cannot change afterwards. A cached generator serves a new
/// request only when their keys are equal (and its max_length covers the request).
/// </summary>
/// <remarks>The adapter is part of the key: a prefix computed under one adapter is never reused under another (or none).</remarks>
internal sealed record GeneratorKey(bool DoSample, double? Temperature, double? TopP, int? TopK, double? RepetitionPenalty, int? NoRepeatNgramSize, string? Adapter)
{
    /// <summary>The key for <paramref name="s"/>, or null when the request cannot use a cached generator.</summary>
    /// <remarks>
    /// Not reusable: grammars (the guidance state follows one answer), beams, a minimum length (ORT GenAI counts it
    /// from the start of the sequence), and seeded sampling (a reused generator's random state has moved on, so the
    /// same seed would not give the same answer).
    /// </remarks>
    public static GeneratorKey? For(GenerationSettings s)
    {
        if (s.Guidance is not null || s.NumBeams > 1 || s.MinOutputTokens is not null || (s.DoSample && s.Seed is not null)) return null;
        return s.DoSample
            ? new GeneratorKey(true, s.Temperature ?? 1.0, s.TopP, s.TopK, s.RepetitionPenalty, s.NoRepeatNgramSize, s.Adapter)
            : new GeneratorKey(false, null, null, null, s.RepetitionPenalty, s.NoRepeatNgramSize, s.Adapter);
    }
}
