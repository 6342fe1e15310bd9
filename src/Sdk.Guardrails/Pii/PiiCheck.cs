namespace LocalLlm.Guardrails.Pii;

/// <summary>Finds personal data (<see cref="PiiDetector"/>) and proposes redactions such as <c>[EMAIL_ADDRESS]</c>.</summary>
/// <remarks>The verdict is a modification in category <see cref="Category"/>; its policy decides (redact by default, or block, flag, escalate).</remarks>
public sealed class PiiCheck : IGuardrailCheck
{
    /// <summary>Initializes a new instance of the <see cref="PiiCheck"/> class.</summary>
    /// <param name="entities">The kinds of personal data to find.</param>
    /// <param name="category">The category reported (and whose policy applies).</param>
    /// <exception cref="ArgumentException"><paramref name="entities"/> is <see cref="PiiEntity.None"/>, or <paramref name="category"/> is empty.</exception>
    public PiiCheck(PiiEntity entities = PiiEntity.All, string category = "pii")
    {
        if ((entities & PiiEntity.All) == PiiEntity.None)
            throw new ArgumentException("Choose at least one PiiEntity to find.", nameof(entities));
        ArgumentException.ThrowIfNullOrWhiteSpace(category);
        Entities = entities;
        Category = category;
    }

    /// <inheritdoc />
    public string Name => "pii";

    /// <inheritdoc />
    public GuardrailCost Cost => GuardrailCost.Cheap;

    /// <summary>Gets the kinds of personal data found.</summary>
    public PiiEntity Entities { get; }

    /// <summary>Gets the category reported.</summary>
    public string Category { get; }

    /// <summary>Returns the text that replaces a match.</summary>
    /// <param name="entity">The kind of data.</param>
    /// <returns>For example <c>[EMAIL_ADDRESS]</c>.</returns>
    public static string Placeholder(PiiEntity entity) => entity switch
    {
        PiiEntity.EmailAddress => "[EMAIL_ADDRESS]",
        PiiEntity.PhoneNumber => "[PHONE_NUMBER]",
        PiiEntity.CreditCard => "[CREDIT_CARD]",
        PiiEntity.IbanCode => "[IBAN_CODE]",
        PiiEntity.UsSsn => "[US_SSN]",
        PiiEntity.IpAddress => "[IP_ADDRESS]",
        _ => "[PII]",
    };

    /// <inheritdoc />
    public ValueTask<GuardrailVerdict> CheckAsync(GuardrailContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var matches = PiiDetector.Find(context.Text, Entities);
        if (matches.Count == 0)
            return new(GuardrailVerdict.Allow);
        var edits = matches.Select(m => new TextEdit(m.Start, m.Length, Placeholder(m.Entity))).ToArray();
        // The reason names kinds and counts only, never the values.
        string reason = string.Join(", ", matches.GroupBy(m => m.Entity).Select(g => $"{Placeholder(g.Key).Trim('[', ']')} x{g.Count()}"));
        return new(GuardrailVerdict.Modify(Category, edits, reason));
    }
}
