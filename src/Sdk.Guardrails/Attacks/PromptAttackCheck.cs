namespace LocalLlm.Guardrails.Attacks;

/// <summary>
/// Detects prompt attacks (jailbreaks, injections) in input messages: the <see cref="PromptAttackHeuristics"/>
/// first, then the trained <see cref="PromptAttackClassifier"/>. Rejects in category <c>prompt_attack</c>.
/// </summary>
public sealed class PromptAttackCheck : IGuardrailCheck
{
    private readonly PromptAttackClassifier? _classifier;

    /// <summary>Initializes a new instance of the <see cref="PromptAttackCheck"/> class.</summary>
    /// <param name="classifier">The classifier; <see langword="null"/> uses the one shipped in this package (<see cref="PromptAttackClassifier.Shipped"/>).</param>
    /// <param name="threshold">Overrides the classifier's threshold (lower catches more and flags more ordinary prompts).</param>
    /// <param name="useClassifier">Set to <see langword="false"/> for the heuristics alone.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threshold"/> is not between 0 and 1.</exception>
    public PromptAttackCheck(PromptAttackClassifier? classifier = null, double? threshold = null, bool useClassifier = true)
    {
        if (threshold is { } t && !(t is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(threshold), t, "A threshold is a probability between 0 and 1.");
        _classifier = useClassifier ? classifier ?? PromptAttackClassifier.Shipped : null;
        Threshold = threshold ?? _classifier?.Threshold ?? 1;
    }

    /// <summary>The category this check reports.</summary>
    public const string Category = "prompt_attack";

    /// <inheritdoc />
    public string Name => "prompt_attack";

    /// <inheritdoc />
    public GuardrailCost Cost => _classifier is null ? GuardrailCost.Cheap : GuardrailCost.Moderate;

    /// <summary>Gets the classifier probability at or above which a prompt is rejected.</summary>
    public double Threshold { get; }

    /// <inheritdoc />
    public ValueTask<GuardrailVerdict> CheckAsync(GuardrailContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (PromptAttackHeuristics.Match(context.Text) is { } rule)
            return new(GuardrailVerdict.Reject(Category, 1, $"Rule {rule} matched."));
        if (_classifier is null)
            return new(GuardrailVerdict.Allow);
        cancellationToken.ThrowIfCancellationRequested();
        double p = _classifier.Score(context.Text);
        return new(p >= Threshold
            ? GuardrailVerdict.Reject(Category, p, $"Classifier probability {p:0.000} >= {Threshold:0.000}.")
            : GuardrailVerdict.Allow);
    }
}
