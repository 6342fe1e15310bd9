using System.Text;

namespace LocalLlm.Guardrails.Attacks;

/// <summary>Text preparation the attack classifiers share (the trainer calls the same code).</summary>
internal static class AttackText
{
    /// <summary>
    /// White space collapsed to single spaces (and lower-cased when asked). A text longer than <paramref name="budget"/>
    /// has only its first and last half-budget collapsed, so that a huge text costs no more than a long one.
    /// </summary>
    public static string Collapse(string text, int budget, bool lowerCase) => text.Length > budget
        ? Collapse(text.AsSpan(0, budget / 2), lowerCase) + " " + Collapse(text.AsSpan(text.Length - (budget / 2)), lowerCase)
        : Collapse(text, lowerCase);

    private static string Collapse(ReadOnlySpan<char> text, bool lowerCase)
    {
        var sb = new StringBuilder(text.Length);
        bool space = false;
        foreach (char c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                space = sb.Length > 0;
                continue;
            }
            if (space)
                sb.Append(' ');
            space = false;
            sb.Append(lowerCase ? char.ToLowerInvariant(c) : c);
        }
        return sb.ToString();
    }
}
