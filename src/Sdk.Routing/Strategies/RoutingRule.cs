using System.Globalization;
using Microsoft.Extensions.AI;

namespace LocalLlm.Routing.Strategies;

/// <summary>A named predicate that sends matching requests to a tier. Build common ones with the static methods.</summary>
public sealed class RoutingRule
{
    private readonly Func<RoutingRequest, bool> _matches;

    /// <summary>Initializes a new instance of the <see cref="RoutingRule"/> class.</summary>
    /// <param name="name">The rule's name, recorded as the route reason.</param>
    /// <param name="tier">The tier matching requests go to.</param>
    /// <param name="matches">The predicate.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> or <paramref name="tier"/> is empty.</exception>
    public RoutingRule(string name, string tier, Func<RoutingRequest, bool> matches)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(tier);
        Name = name;
        Tier = tier;
        _matches = matches ?? throw new ArgumentNullException(nameof(matches));
    }

    /// <summary>Gets the rule's name.</summary>
    public string Name { get; }

    /// <summary>Gets the tier matching requests go to.</summary>
    public string Tier { get; }

    /// <summary>Tests a request.</summary>
    /// <param name="request">The request.</param>
    /// <returns><see langword="true"/> if the rule applies.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is <see langword="null"/>.</exception>
    public bool Matches(RoutingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _matches(request);
    }

    /// <summary>Matches when the last user message is longer than <paramref name="characters"/>.</summary>
    /// <param name="characters">The length limit.</param>
    /// <param name="tier">The tier for longer prompts.</param>
    /// <returns>The rule.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="characters"/> is negative.</exception>
    public static RoutingRule PromptLongerThan(int characters, string tier)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(characters);
        return new(string.Create(CultureInfo.InvariantCulture, $"prompt-longer-than-{characters}"), tier, r => r.LastUserText.Length > characters);
    }

    /// <summary>Matches when the whole conversation holds more than <paramref name="characters"/> characters of text.</summary>
    /// <param name="characters">The context-size limit, in characters (about 4 per token for English).</param>
    /// <param name="tier">The tier for larger contexts.</param>
    /// <returns>The rule.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="characters"/> is negative.</exception>
    public static RoutingRule ContextLongerThan(int characters, string tier)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(characters);
        return new(string.Create(CultureInfo.InvariantCulture, $"context-longer-than-{characters}"), tier, r => r.TotalCharacters > characters);
    }

    /// <summary>Matches when the last user message contains any of the keywords (case-insensitive).</summary>
    /// <param name="keywords">The keywords.</param>
    /// <param name="tier">The tier for matching prompts.</param>
    /// <returns>The rule.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="keywords"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="keywords"/> is empty or holds an empty keyword.</exception>
    public static RoutingRule ContainsKeyword(IEnumerable<string> keywords, string tier)
    {
        ArgumentNullException.ThrowIfNull(keywords);
        string[] words = [.. keywords];
        if (words.Length == 0 || words.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException("Give at least one keyword, none empty.", nameof(keywords));
        return new("keyword", tier, r => words.Any(w => r.LastUserText.Contains(w, StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>Matches when the request offers tools.</summary>
    /// <param name="tier">The tier for tool calls.</param>
    /// <returns>The rule.</returns>
    public static RoutingRule ToolsRequired(string tier) =>
        new("tools-required", tier, r => r.Options?.Tools is { Count: > 0 });

    /// <summary>Matches when the request asks for JSON output.</summary>
    /// <param name="tier">The tier for structured output.</param>
    /// <returns>The rule.</returns>
    public static RoutingRule JsonMode(string tier) =>
        new("json-mode", tier, r => r.Options?.ResponseFormat is ChatResponseFormatJson);
}
