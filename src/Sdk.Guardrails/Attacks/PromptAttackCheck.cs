namespace LocalLlm.Guardrails.Attacks;

/// <summary>
/// Detects prompt attacks (jailbreaks, direct and indirect injections) in input messages and tool results: the
/// <see cref="PromptAttackHeuristics"/> first, then the trained classifier. Rejects in category <c>prompt_attack</c>.
/// </summary>
/// <remarks>
/// With a sentence encoder (the constructor that takes an <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>, for
/// example LocalLlm.Embeddings' built-in all-MiniLM-L6-v2) the classifier is <see cref="PromptAttackEncoderClassifier"/>:
/// the embedding plus the n-gram classifier's score. It is the one that generalises to injections and attack styles it
/// was not trained on (docs/guardrails.md). Without an encoder only the n-gram <see cref="PromptAttackClassifier"/> runs:
/// small and fast, but trained on jailbreaks and weak on injections.
/// </remarks>
public sealed class PromptAttackCheck : IGuardrailCheck
{
    private readonly PromptAttackClassifier? _classifier;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? _encoder;
    private readonly PromptAttackEncoderClassifier? _encoderClassifier;

    /// <summary>Initializes a new instance of the <see cref="PromptAttackCheck"/> class with the n-gram classifier only (no encoder).</summary>
    /// <param name="classifier">The classifier; <see langword="null"/> uses the one shipped in this package (<see cref="PromptAttackClassifier.Shipped"/>).</param>
    /// <param name="threshold">Overrides the classifier's threshold (lower catches more and flags more ordinary prompts).</param>
    /// <param name="useClassifier">Set to <see langword="false"/> for the heuristics alone.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threshold"/> is not between 0 and 1.</exception>
    public PromptAttackCheck(PromptAttackClassifier? classifier = null, double? threshold = null, bool useClassifier = true)
    {
        CheckThreshold(threshold);
        _classifier = useClassifier ? classifier ?? PromptAttackClassifier.Shipped : null;
        Threshold = threshold ?? _classifier?.Threshold ?? 1;
    }

    /// <summary>
    /// Initializes a new instance of the <see cref="PromptAttackCheck"/> class with the encoder classifier: heuristics, then
    /// <see cref="PromptAttackEncoderClassifier.Shipped"/> over <paramref name="encoder"/>'s embedding and the n-gram score.
    /// </summary>
    /// <param name="encoder">A generator of all-MiniLM-L6-v2 vectors (<c>services.AddLocalLlmEmbeddings()</c> or <c>new LocalEmbeddingGenerator()</c>).</param>
    /// <param name="threshold">Overrides the encoder classifier's threshold.</param>
    /// <exception cref="ArgumentNullException"><paramref name="encoder"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="encoder"/> reports another model than the one the classifier was trained on.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threshold"/> is not between 0 and 1.</exception>
    public PromptAttackCheck(IEmbeddingGenerator<string, Embedding<float>> encoder, double? threshold = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        CheckThreshold(threshold);
        _encoderClassifier = PromptAttackEncoderClassifier.Shipped;
        _encoderClassifier.CheckEncoder(encoder);
        _encoder = encoder;
        _classifier = PromptAttackClassifier.Shipped;
        Threshold = threshold ?? _encoderClassifier.Threshold;
    }

    /// <summary>The category this check reports.</summary>
    public const string Category = "prompt_attack";

    /// <inheritdoc />
    public string Name => "prompt_attack";

    /// <inheritdoc />
    public GuardrailCost Cost => _classifier is null ? GuardrailCost.Cheap : GuardrailCost.Moderate;

    /// <summary>Gets the classifier probability at or above which a prompt is rejected.</summary>
    public double Threshold { get; }

    /// <summary>Gets whether the encoder classifier runs (the check was given an encoder).</summary>
    public bool UsesEncoder => _encoder is not null;

    /// <inheritdoc />
    public async ValueTask<GuardrailVerdict> CheckAsync(GuardrailContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (PromptAttackHeuristics.Match(context.Text) is { } rule)
            return GuardrailVerdict.Reject(Category, 1, $"Rule {rule} matched.");
        if (_classifier is null)
            return GuardrailVerdict.Allow;
        cancellationToken.ThrowIfCancellationRequested();
        double p;
        if (_encoder is null)
            p = _classifier.Score(context.Text);
        else
        {
            // The whole text (head and tail) and, for a long one, its chunks, in one encoder call; the highest score decides.
            var windows = PromptAttackEncoderClassifier.Windows(context.Text);
            var embeddings = await _encoder.GenerateAsync(windows, cancellationToken: cancellationToken);
            p = 0;
            for (int i = 0; i < windows.Count; i++)
                p = Math.Max(p, _encoderClassifier!.Score(embeddings[i].Vector.Span, _classifier.Score(windows[i])));
        }
        return p >= Threshold
            ? GuardrailVerdict.Reject(Category, p, $"Classifier probability {p:0.000} >= {Threshold:0.000}.")
            : GuardrailVerdict.Allow;
    }

    private static void CheckThreshold(double? threshold)
    {
        if (threshold is { } t && !(t is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(threshold), t, "A threshold is a probability between 0 and 1.");
    }
}
