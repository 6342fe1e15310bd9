namespace LocalLlm;

/// <summary>The prompt does not fit the model's context. Shorten it, or set <see cref="LocalLlmChatClientOptions.Truncation"/>.</summary>
public sealed class PromptLengthException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public PromptLengthException() { }

    /// <summary>Creates the exception.</summary>
    public PromptLengthException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public PromptLengthException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with both lengths.</summary>
    public PromptLengthException(int promptTokens, int contextLength)
        : base($"The prompt is {promptTokens} tokens but the model's context is {contextLength} tokens (room is needed for at least one output token). Shorten the conversation, or set LocalLlmChatClientOptions.Truncation = DropOldestTurns.")
    {
        PromptTokens = promptTokens;
        ContextLength = contextLength;
    }

    /// <summary>Tokens in the prompt.</summary>
    public int PromptTokens { get; }

    /// <summary>The model's context length.</summary>
    public int ContextLength { get; }
}
