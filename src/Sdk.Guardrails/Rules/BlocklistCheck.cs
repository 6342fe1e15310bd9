using System.Text.RegularExpressions;

namespace LocalLlm.Guardrails.Rules;

/// <summary>Rejects text containing any listed word or phrase (whole words, case-insensitive).</summary>
public sealed class BlocklistCheck : IGuardrailCheck
{
    private readonly Regex _regex;

    /// <summary>Initializes a new instance of the <see cref="BlocklistCheck"/> class.</summary>
    /// <param name="terms">The words or phrases; white space inside a phrase matches any white space.</param>
    /// <param name="category">The category reported.</param>
    /// <exception cref="ArgumentNullException"><paramref name="terms"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="terms"/> is empty or holds an empty term, or <paramref name="category"/> is empty.</exception>
    public BlocklistCheck(IEnumerable<string> terms, string category = "blocklist")
    {
        ArgumentNullException.ThrowIfNull(terms);
        ArgumentException.ThrowIfNullOrWhiteSpace(category);
        string[] list = [.. terms];
        if (list.Length == 0 || list.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException("Give at least one term, and no empty terms.", nameof(terms));
        Category = category;
        // One alternation, longest first; \b only where the term starts or ends with a word character.
        var parts = list.OrderByDescending(t => t.Length).Select(t =>
        {
            string body = string.Join(@"\s+", t.Trim().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(Regex.Escape));
            return (char.IsLetterOrDigit(t.Trim()[0]) ? @"\b" : "") + body + (char.IsLetterOrDigit(t.Trim()[^1]) ? @"\b" : "");
        });
        _regex = new Regex(string.Join("|", parts), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled, RegexLimits.Timeout);
    }

    /// <inheritdoc />
    public string Name => "blocklist";

    /// <inheritdoc />
    public GuardrailCost Cost => GuardrailCost.Cheap;

    /// <summary>Gets the category reported.</summary>
    public string Category { get; }

    /// <inheritdoc />
    public ValueTask<GuardrailVerdict> CheckAsync(GuardrailContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new(_regex.IsMatch(context.Text)
            ? GuardrailVerdict.Reject(Category, 1, "A blocklisted term occurs.")
            : GuardrailVerdict.Allow);
    }
}
