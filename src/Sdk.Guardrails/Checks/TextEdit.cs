namespace LocalLlm.Guardrails;

/// <summary>Replaces <see cref="Length"/> characters at <see cref="Start"/> with <see cref="Replacement"/> (a redaction).</summary>
/// <param name="Start">The first character replaced (0-based, in the text the check saw).</param>
/// <param name="Length">How many characters are replaced.</param>
/// <param name="Replacement">The text put in their place.</param>
public readonly record struct TextEdit(int Start, int Length, string Replacement)
{
    /// <summary>Gets the position after the last character replaced.</summary>
    public int End => Start + Length;
}
