namespace LocalLlm.Guardrails;

/// <summary>What a check sees: one text, and the request it belongs to.</summary>
public sealed class GuardrailContext
{
    /// <summary>Initializes a new instance of the <see cref="GuardrailContext"/> class.</summary>
    /// <param name="stage">Input or output.</param>
    /// <param name="text">The text to check.</param>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public GuardrailContext(GuardrailStage stage, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Stage = stage;
        Text = text;
    }

    /// <summary>Gets whether this is an input or an output check.</summary>
    public GuardrailStage Stage { get; }

    /// <summary>Gets the text to check: one input message, or the answer (so far, when <see cref="IsPartial"/>).</summary>
    public string Text { get; }

    /// <summary>
    /// Gets where <see cref="Text"/> starts in the whole answer. A streamed answer is checked in overlapping windows
    /// (each character a bounded number of times), so <see cref="Text"/> may be a window that starts here; a check that
    /// must see the whole answer at once returns <see langword="true"/> from <see cref="IGuardrailCheck.NeedsCompleteText"/>.
    /// </summary>
    /// <value>0 for an input text or a whole answer.</value>
    public int Offset { get; init; }

    /// <summary>Gets whether <see cref="Text"/> is the start of a streamed answer that is still growing.</summary>
    public bool IsPartial { get; init; }

    /// <summary>Gets the request's messages.</summary>
    /// <value>Empty when the check is called outside a chat pipeline.</value>
    public IReadOnlyList<ChatMessage> Messages { get; init; } = [];

    /// <summary>Gets the request's options, if any.</summary>
    public ChatOptions? Options { get; init; }
}
