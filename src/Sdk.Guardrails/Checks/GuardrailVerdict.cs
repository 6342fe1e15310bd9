namespace LocalLlm.Guardrails;

/// <summary>What a check decided about one text.</summary>
public enum GuardrailVerdictKind
{
    /// <summary>The text is fine.</summary>
    Allow,

    /// <summary>The text is fine after edits (for example a redaction).</summary>
    Modify,

    /// <summary>The text violates the check's category.</summary>
    Reject,
}

/// <summary>A check's verdict: allow, modify (edits) or reject (category, score, reason).</summary>
/// <remarks>Reasons are logged and returned to callers: never put the checked text in them.</remarks>
public sealed class GuardrailVerdict
{
    private GuardrailVerdict(GuardrailVerdictKind kind, string? category, double score, string? reason, IReadOnlyList<TextEdit> edits, string? replacement)
    {
        Kind = kind;
        Category = category;
        Score = score;
        Reason = reason;
        Edits = edits;
        ReplacementText = replacement;
    }

    /// <summary>Gets the verdict that lets the text through.</summary>
    public static GuardrailVerdict Allow { get; } = new(GuardrailVerdictKind.Allow, null, 0, null, [], null);

    /// <summary>Gets what the check decided.</summary>
    public GuardrailVerdictKind Kind { get; }

    /// <summary>Gets the category the text fell into (for example <c>pii.email</c> or <c>prompt_attack</c>); <see langword="null"/> for <see cref="Allow"/>.</summary>
    public string? Category { get; }

    /// <summary>Gets the check's confidence, 0 to 1.</summary>
    public double Score { get; }

    /// <summary>Gets a short reason without any of the checked text.</summary>
    public string? Reason { get; }

    /// <summary>Gets the edits of a <see cref="GuardrailVerdictKind.Modify"/> verdict, in the coordinates of the checked text.</summary>
    public IReadOnlyList<TextEdit> Edits { get; }

    /// <summary>Gets the whole new text of a rewrite (<see cref="Rewrite"/>), or <see langword="null"/>.</summary>
    public string? ReplacementText { get; }

    /// <summary>Modifies the text by edits (for example redactions).</summary>
    /// <param name="category">The category of what was edited.</param>
    /// <param name="edits">Non-overlapping edits in the coordinates of the checked text.</param>
    /// <param name="reason">A short reason without any of the checked text.</param>
    /// <returns>The verdict, or <see cref="Allow"/> when there are no edits.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="category"/> or <paramref name="edits"/> is <see langword="null"/>.</exception>
    public static GuardrailVerdict Modify(string category, IReadOnlyList<TextEdit> edits, string? reason = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(category);
        ArgumentNullException.ThrowIfNull(edits);
        return edits.Count == 0 ? Allow : new(GuardrailVerdictKind.Modify, category, 1, reason, edits, null);
    }

    /// <summary>Modifies the text by replacing all of it. In a stream this holds the whole answer back; prefer <see cref="Modify"/> with edits.</summary>
    /// <param name="category">The category of what was changed.</param>
    /// <param name="newText">The text that replaces the checked text.</param>
    /// <param name="reason">A short reason without any of the checked text.</param>
    /// <returns>The verdict.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="category"/> or <paramref name="newText"/> is <see langword="null"/>.</exception>
    public static GuardrailVerdict Rewrite(string category, string newText, string? reason = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(category);
        ArgumentNullException.ThrowIfNull(newText);
        return new(GuardrailVerdictKind.Modify, category, 1, reason, [], newText);
    }

    /// <summary>Rejects the text.</summary>
    /// <param name="category">The violated category (the policy is chosen by it).</param>
    /// <param name="score">The check's confidence, 0 to 1.</param>
    /// <param name="reason">A short reason without any of the checked text.</param>
    /// <returns>The verdict.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="category"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="score"/> is not between 0 and 1.</exception>
    public static GuardrailVerdict Reject(string category, double score = 1, string? reason = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(category);
        if (!(score >= 0 && score <= 1))
            throw new ArgumentOutOfRangeException(nameof(score), score, "A score is between 0 and 1.");
        return new(GuardrailVerdictKind.Reject, category, score, reason, [], null);
    }
}
