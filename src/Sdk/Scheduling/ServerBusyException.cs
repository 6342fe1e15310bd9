namespace LocalLlm;

/// <summary>
/// The request was refused because the admission queue is full. Retry later; a web server maps it to
/// HTTP 429 Too Many Requests.
/// </summary>
public sealed class ServerBusyException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public ServerBusyException() : this("The model is busy: too many requests are waiting.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened.</param>
    public ServerBusyException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public ServerBusyException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a full queue.</summary>
    /// <param name="queueLength">Requests waiting when this one was refused.</param>
    /// <param name="activeRequests">Requests generating at that moment.</param>
    public ServerBusyException(int queueLength, int activeRequests)
        : this($"The model is busy: {activeRequests} requests are generating and {queueLength} are waiting, the most allowed (LocalLlmChatClientOptions.MaxQueueLength). Retry later, or raise MaxQueueLength or MaxConcurrentRequests.")
    {
        QueueLength = queueLength;
        ActiveRequests = activeRequests;
    }

    /// <summary>Requests waiting when this one was refused.</summary>
    public int QueueLength { get; }

    /// <summary>Requests generating when this one was refused.</summary>
    public int ActiveRequests { get; }
}
