namespace LocalLlm.Routing.Strategies;

/// <summary>Routes by the first matching rule; abstains when none matches.</summary>
public sealed class RuleRoutingStrategy : IRoutingStrategy
{
    private readonly RoutingRule[] _rules;

    /// <summary>Initializes a new instance of the <see cref="RuleRoutingStrategy"/> class.</summary>
    /// <param name="rules">The rules, tried in order.</param>
    /// <exception cref="ArgumentNullException"><paramref name="rules"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="rules"/> holds a <see langword="null"/>.</exception>
    public RuleRoutingStrategy(IEnumerable<RoutingRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        _rules = [.. rules];
        if (_rules.Any(r => r is null))
            throw new ArgumentException("A rule is null.", nameof(rules));
    }

    /// <inheritdoc/>
    public string Name => "rules";

    /// <summary>Gets the rules, in the order they are tried.</summary>
    public IReadOnlyList<RoutingRule> Rules => _rules;

    /// <inheritdoc/>
    public ValueTask<RouteChoice?> ChooseAsync(RoutingRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        foreach (RoutingRule rule in _rules)
        {
            if (rule.Matches(request))
                return new(new RouteChoice(rule.Tier, rule.Name));
        }
        return new((RouteChoice?)null);
    }
}
