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
        return new(context.Text.Length > MaxCharacters
            ? GuardrailVerdict.Reject("length", 1, $"{context.Text.Length} characters; at most {MaxCharacters} allowed.")
            : GuardrailVerdict.Allow);
    }
}
