namespace LocalLlm;

/// <summary>The requested execution provider cannot be used on this machine; the message says what to install.</summary>
public sealed class ExecutionProviderException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ExecutionProviderException() { }

    /// <summary>Creates the exception.</summary>
    public ExecutionProviderException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public ExecutionProviderException(string message, Exception innerException) : base(message, innerException) { }
}
