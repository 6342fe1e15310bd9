namespace LocalLlm.Guardrails.Attacks;

/// <summary>
/// Detects prompt attacks (jailbreaks, direct and indirect injections) in input messages and tool results: the
/// <see cref="PromptAttackHeuristics"/> first, then the trained classifier. Rejects in category <c>prompt_attack</c>.
/// </summary>
/// <remarks>
/// By default the classifier is v2: hashed n-grams, a static encoder distilled from all-MiniLM-L6-v2 and the v1 n-gram
/// classifier's score in one logistic regression, trained on jailbreaks and on direct and indirect injections (13
/// public sources), read over the whole text and the sentence chunks of a long one (about a millisecond; rates in
/// docs/guardrails.md). Given a <see cref="PromptAttackClassifier"/>, only that n-gram classifier (v1) runs. The
/// constructor that takes an <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> runs a head over all-MiniLM-L6-v2
/// itself (<see cref="PromptAttackEncoderClassifier"/>): about a hundred times slower and, measured, no better than v2.
/// </remarks>
public sealed class PromptAttackCheck : IGuardrailCheck
{
    private readonly PromptAttackClassifier? _classifier;
    private readonly PromptAttackStaticClassifier? _v2;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? _encoder;
    private readonly PromptAttackEncoderClassifier? _encoderClassifier;

    /// <summary>Initializes a new instance of the <see cref="PromptAttackCheck"/> class with the shipped v2 classifier, or the given n-gram classifier.</summary>
    /// <param name="classifier">An n-gram classifier to run instead of v2 (for example <see cref="PromptAttackClassifier.Shipped"/>, v1); <see langword="null"/> runs the shipped v2 classifier.</param>
    /// <param name="threshold">Overrides the classifier's threshold (lower catches more and flags more ordinary prompts).</param>
    /// <param name="useClassifier">Set to <see langword="false"/> for the heuristics alone.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threshold"/> is not between 0 and 1.</exception>
    public PromptAttackCheck(PromptAttackClassifier? classifier = null, double? threshold = null, bool useClassifier = true)
    {
        CheckThreshold(threshold);
        _classifier = useClassifier ? classifier ?? PromptAttackClassifier.Shipped : null;
        _v2 = useClassifier && classifier is null ? PromptAttackStaticClassifier.Shipped : null;
        Threshold = threshold ?? _v2?.Threshold ?? _classifier?.Threshold ?? 1;
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
        if (_v2 is not null)
            p = _v2.Score(context.Text);
        else if (_encoder is null)
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
