namespace LocalLlm.Guardrails.Rules;

/// <summary>Rejects text longer than a number of characters (category <c>length</c>).</summary>
public sealed class MaxLengthCheck : IGuardrailCheck
{
    /// <summary>Initializes a new instance of the <see cref="MaxLengthCheck"/> class.</summary>
    /// <param name="maxCharacters">The most characters allowed.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxCharacters"/> is less than 1.</exception>
    public MaxLengthCheck(int maxCharacters)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCharacters, 1);
        MaxCharacters = maxCharacters;
    }

    /// <inheritdoc />
    public string Name => "max_length";

    /// <inheritdoc />
    public GuardrailCost Cost => GuardrailCost.Cheap;

    /// <summary>Gets the most characters allowed.</summary>
    public int MaxCharacters { get; }

    /// <inheritdoc />
    public ValueTask<GuardrailVerdict> CheckAsync(GuardrailContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        int length = context.Offset + context.Text.Length; // a streamed window ends here in the whole answer
        return new(length > MaxCharacters
            ? GuardrailVerdict.Reject("length", 1, $"{length} characters; at most {MaxCharacters} allowed.")
            : GuardrailVerdict.Allow);
    }
}
