using System.Text.RegularExpressions;

namespace LocalLlm.Guardrails.Rules;

/// <summary>Rejects text matching any of a set of regular expressions, or, with a replacement, redacts the matches.</summary>
public sealed class RegexCheck : IGuardrailCheck
{
    private readonly Regex[] _patterns;

    /// <summary>Initializes a new instance of the <see cref="RegexCheck"/> class.</summary>
    /// <param name="patterns">The patterns (.NET syntax; matched case-insensitively with a 2 s timeout against runaway backtracking).</param>
    /// <param name="category">The category reported.</param>
    /// <param name="replacement">When set, matches are redacted with it (a modification) instead of rejecting the text.</param>
    /// <param name="name">The check's name.</param>
    /// <exception cref="ArgumentNullException"><paramref name="patterns"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">No patterns, an invalid pattern, or an empty <paramref name="category"/> or <paramref name="name"/>.</exception>
    public RegexCheck(IEnumerable<string> patterns, string category = "regex", string? replacement = null, string name = "regex")
    {
        ArgumentNullException.ThrowIfNull(patterns);
        ArgumentException.ThrowIfNullOrWhiteSpace(category);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var list = new List<Regex>();
        int index = 0;
        foreach (string p in patterns)
        {
            try
            {
                list.Add(new Regex(p, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled, RegexLimits.Timeout));
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"Pattern #{index} is not a valid regular expression: {ex.Message}", nameof(patterns), ex);
            }
            index++;
        }
        if (list.Count == 0)
            throw new ArgumentException("Give at least one pattern.", nameof(patterns));
        _patterns = [.. list];
        Category = category;
        Replacement = replacement;
        Name = name;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public GuardrailCost Cost => GuardrailCost.Cheap;

    /// <summary>Gets the category reported.</summary>
    public string Category { get; }

    /// <summary>Gets the redaction text, or <see langword="null"/> to reject.</summary>
    public string? Replacement { get; }

    /// <inheritdoc />
    public ValueTask<GuardrailVerdict> CheckAsync(GuardrailContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Replacement is null)
        {
            for (int i = 0; i < _patterns.Length; i++)
            {
                if (_patterns[i].IsMatch(context.Text))
                    return new(GuardrailVerdict.Reject(Category, 1, $"Pattern #{i} matched."));
            }
            return new(GuardrailVerdict.Allow);
        }
        var edits = new List<TextEdit>();
        foreach (var pattern in _patterns)
        {
            foreach (Match m in pattern.Matches(context.Text))
            {
                if (m.Length > 0 && !edits.Exists(e => e.Start < m.Index + m.Length && m.Index < e.End))
                    edits.Add(new TextEdit(m.Index, m.Length, Replacement));
            }
        }
        return new(GuardrailVerdict.Modify(Category, edits, $"{edits.Count} match(es) redacted."));
    }
}
