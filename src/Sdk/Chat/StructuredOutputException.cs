namespace LocalLlm;

/// <summary>The model ended a structured (JSON) answer that does not parse. Catch it to retry or escalate to another model.</summary>
public sealed class StructuredOutputException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StructuredOutputException() { }

    /// <summary>Creates the exception.</summary>
    public StructuredOutputException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public StructuredOutputException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with the text the model produced.</summary>
    public StructuredOutputException(string message, string output, Exception? innerException = null)
        : base(message, innerException) => Output = output;

    /// <summary>The invalid output.</summary>
    public string? Output { get; }
}
