using System.Text.RegularExpressions;

namespace LocalLlm.Guardrails.Rules;

/// <summary>
/// A topic deny-list: each topic is a set of keywords; text mentioning at least <see cref="MinimumHits"/> different
/// keywords of a topic is rejected in category <c>topic.&lt;name&gt;</c>.
/// </summary>
public sealed class TopicCheck : IGuardrailCheck
{
    private readonly (string Topic, Regex[] Keywords)[] _topics;

    /// <summary>Initializes a new instance of the <see cref="TopicCheck"/> class.</summary>
    /// <param name="topics">Topic name to keywords (whole words, case-insensitive; a trailing <c>*</c> matches any ending).</param>
    /// <param name="minimumHits">How many different keywords of one topic make a hit.</param>
    /// <exception cref="ArgumentNullException"><paramref name="topics"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">No topics, a topic without keywords, or an empty keyword.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minimumHits"/> is less than 1.</exception>
    public TopicCheck(IReadOnlyDictionary<string, string[]> topics, int minimumHits = 1)
    {
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentOutOfRangeException.ThrowIfLessThan(minimumHits, 1);
        if (topics.Count == 0)
            throw new ArgumentException("Give at least one topic.", nameof(topics));
        _topics = [.. topics.Select(t =>
        {
            if (string.IsNullOrWhiteSpace(t.Key) || t.Value is not { Length: > 0 } || t.Value.Any(string.IsNullOrWhiteSpace))
                throw new ArgumentException($"Topic '{t.Key}' needs a name and at least one non-empty keyword.", nameof(topics));
            return (t.Key, t.Value.Select(k => new Regex(
                @"\b" + Regex.Escape(k.Trim().TrimEnd('*')) + (k.Trim().EndsWith('*') ? @"\w*" : @"\b"),
                RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, RegexLimits.Timeout)).ToArray());
        })];
        MinimumHits = minimumHits;
    }

    /// <inheritdoc />
    public string Name => "topic";

    /// <inheritdoc />
    public GuardrailCost Cost => GuardrailCost.Cheap;

    /// <summary>Gets how many different keywords of one topic make a hit.</summary>
    public int MinimumHits { get; }

    /// <inheritdoc />
    public ValueTask<GuardrailVerdict> CheckAsync(GuardrailContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        foreach (var (topic, keywords) in _topics)
        {
            int hits = keywords.Count(k => k.IsMatch(context.Text));
            if (hits >= MinimumHits)
                return new(GuardrailVerdict.Reject("topic." + topic, Math.Min(1, hits / (double)keywords.Length + 0.5), $"{hits} keyword(s) of a denied topic."));
        }
        return new(GuardrailVerdict.Allow);
    }
}
