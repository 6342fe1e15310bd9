using System.Globalization;
using LocalLlm.Routing.Classifier;

namespace LocalLlm.Routing.Strategies;

/// <summary>
/// Routes by the trained <see cref="PromptClassifier"/>: prompts the small tier is likely to get wrong go large.
/// Never abstains.
/// </summary>
public sealed class ClassifierRoutingStrategy : IRoutingStrategy
{
    private readonly PromptClassifier _classifier;
    private readonly string _smallTier;
    private readonly string _largeTier;

    /// <summary>Initializes a new instance of the <see cref="ClassifierRoutingStrategy"/> class.</summary>
    /// <param name="classifier">The classifier (<see cref="PromptClassifier.LoadDefault"/> for the shipped one).</param>
    /// <param name="largeShare">About this share of traffic (0-1, as distributed like the training prompts) goes to <paramref name="largeTier"/>.</param>
    /// <param name="smallTier">The small tier's name.</param>
    /// <param name="largeTier">The large tier's name.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="largeShare"/> is outside 0-1.</exception>
    public ClassifierRoutingStrategy(PromptClassifier classifier, double largeShare, string smallTier = "small", string largeTier = "large")
    {
        _classifier = classifier ?? throw new ArgumentNullException(nameof(classifier));
        ArgumentException.ThrowIfNullOrWhiteSpace(smallTier);
        ArgumentException.ThrowIfNullOrWhiteSpace(largeTier);
        Threshold = classifier.ThresholdForLargeShare(largeShare);
        _smallTier = smallTier;
        _largeTier = largeTier;
    }

    /// <inheritdoc/>
    public string Name => "classifier";

    /// <summary>Gets the score at or above which a prompt goes to the large tier.</summary>
    public float Threshold { get; }

    /// <inheritdoc/>
    public ValueTask<RouteChoice?> ChooseAsync(RoutingRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        float score = _classifier.Score(request.LastUserText);
        string reason = string.Create(CultureInfo.InvariantCulture, $"score {score:F3} {(score >= Threshold ? ">=" : "<")} {Threshold:F3}");
        return new(new RouteChoice(score >= Threshold ? _largeTier : _smallTier, reason));
    }
}
