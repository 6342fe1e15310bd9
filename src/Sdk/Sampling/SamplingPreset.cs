using System.Globalization;
using Microsoft.Extensions.AI;

namespace LocalLlm;

/// <summary>
/// A named set of sampling settings that <see cref="SamplingChatClient"/> fills into requests. A null value leaves
/// the request alone. docs/decoding.md explains each built-in preset and what the values do to the distribution.
/// </summary>
/// <param name="Name">A name for logs and configuration.</param>
public sealed record SamplingPreset(string Name)
{
    /// <summary>Greedy decoding: temperature 0 (always the most likely token), no penalties. Same input, same output.</summary>
    public static SamplingPreset Deterministic { get; } = new(nameof(Deterministic)) { Temperature = 0f, RepetitionPenalty = 1.0, NoRepeatNgramSize = 0 };

    /// <summary>Temperature 0.3, top-k 20, top-p 0.9, repetition penalty 1.05: near-greedy with a little variety (extraction, code, facts).</summary>
    public static SamplingPreset Precise { get; } = new(nameof(Precise)) { Temperature = 0.3f, TopK = 20, TopP = 0.9f, RepetitionPenalty = 1.05, NoRepeatNgramSize = 0 };

    /// <summary>Temperature 0.7, top-k 40, top-p 0.9, repetition penalty 1.1: the usual chat setting.</summary>
    public static SamplingPreset Balanced { get; } = new(nameof(Balanced)) { Temperature = 0.7f, TopK = 40, TopP = 0.9f, RepetitionPenalty = 1.1, NoRepeatNgramSize = 0 };

    /// <summary>Temperature 1.0, top-k 100, top-p 0.95, repetition penalty 1.15: the model's own distribution minus its tail (brainstorming, stories).</summary>
    public static SamplingPreset Creative { get; } = new(nameof(Creative)) { Temperature = 1.0f, TopK = 100, TopP = 0.95f, RepetitionPenalty = 1.15, NoRepeatNgramSize = 0 };

    /// <summary>The built-in presets.</summary>
    public static IReadOnlyList<SamplingPreset> BuiltIn { get; } = [Deterministic, Precise, Balanced, Creative];

    /// <summary>Temperature (0 = greedy); null leaves the request's.</summary>
    /// <value>Default null.</value>
    public float? Temperature { get; init; }

    /// <summary>Nucleus sampling: keep the most likely tokens until their probability reaches this (0, 1]; null leaves the request's.</summary>
    /// <value>Default null.</value>
    public float? TopP { get; init; }

    /// <summary>Keep only the k most likely tokens (≥ 1); null leaves the request's.</summary>
    /// <value>Default null.</value>
    public int? TopK { get; init; }

    /// <summary>ORT GenAI repetition_penalty (1 = off; &gt; 1 divides positive logits of seen tokens and multiplies negative ones); null leaves the request's.</summary>
    /// <value>Default null.</value>
    public double? RepetitionPenalty { get; init; }

    /// <summary>ORT GenAI no_repeat_ngram_size (0 = off); null leaves the request's.</summary>
    /// <value>Default null.</value>
    public int? NoRepeatNgramSize { get; init; }

    /// <summary>When true the preset's values replace the request's; when false (the default) a value the request sets wins.</summary>
    /// <value>Default false.</value>
    public bool Forced { get; init; }

    /// <summary>A built-in preset by name (case-insensitive), e.g. from configuration.</summary>
    /// <exception cref="ArgumentException">The name is not a built-in preset; the message lists them.</exception>
    public static SamplingPreset FromName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return BuiltIn.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"Unknown sampling preset '{name}'; use one of {string.Join(", ", BuiltIn.Select(p => p.Name))} or define a SamplingPreset.", nameof(name));
    }

    /// <summary>Checks every value and throws naming the first bad one and its valid range.</summary>
    /// <exception cref="ArgumentException">The name is empty or a value is out of range.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name))
            throw new ArgumentException("SamplingPreset.Name must not be empty.");
        string where = $"Sampling preset '{Name}': ";
        if (Temperature is { } t && (!float.IsFinite(t) || t < 0))
            throw new ArgumentException(where + $"Temperature must be a finite number ≥ 0 (was {t.ToString(CultureInfo.InvariantCulture)}); 0 means greedy.");
        if (TopP is { } p && (!float.IsFinite(p) || p <= 0 || p > 1))
            throw new ArgumentException(where + $"TopP must be in (0, 1] (was {p.ToString(CultureInfo.InvariantCulture)}).");
        if (TopK is { } k && k < 1)
            throw new ArgumentException(where + $"TopK must be at least 1 (was {k}).");
        if (RepetitionPenalty is { } r && (!double.IsFinite(r) || r <= 0))
            throw new ArgumentException(where + $"RepetitionPenalty must be a positive number, 1 = off (was {r.ToString(CultureInfo.InvariantCulture)}).");
        if (NoRepeatNgramSize is { } n && n < 0)
            throw new ArgumentException(where + $"NoRepeatNgramSize must be ≥ 0, 0 = off (was {n}).");
    }

    /// <summary>A copy of <paramref name="options"/> (or new options) with this preset's values filled in. The argument is never modified.</summary>
    /// <remarks>With beam search requested (<see cref="LocalLlmChatOptionsExtensions.WithNumBeams"/> &gt; 1) temperature, top-p and top-k are not filled in: beams are deterministic.</remarks>
    public ChatOptions ApplyTo(ChatOptions? options)
    {
        ChatOptions result = options?.Clone() ?? new ChatOptions();
        bool beams = result.AdditionalProperties?.TryGetValue(LocalLlmOptionKeys.NumBeams, out int b) == true && b > 1;
        if (!beams)
        {
            if (Temperature is { } t && (Forced || result.Temperature is null)) result.Temperature = t;
            if (TopP is { } p && (Forced || result.TopP is null)) result.TopP = p;
            if (TopK is { } k && (Forced || result.TopK is null)) result.TopK = k;
        }
        if (RepetitionPenalty is { } r && (Forced || !Has(result, LocalLlmOptionKeys.RepetitionPenalty))) result.WithRepetitionPenalty(r);
        if (NoRepeatNgramSize is { } n && (Forced || !Has(result, LocalLlmOptionKeys.NoRepeatNgramSize))) result.WithNoRepeatNgramSize(n);
        return result;
    }

    private static bool Has(ChatOptions options, string key) => options.AdditionalProperties?.ContainsKey(key) == true;
}
