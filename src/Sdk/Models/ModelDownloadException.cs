using System.Net;

namespace LocalLlm.Models;

/// <summary>Why a model download failed, for callers that react differently (ask for a token, pick another id, free disk).</summary>
public enum ModelDownloadFailure
{
    /// <summary>Anything else (network kept failing after the retries).</summary>
    Other,

    /// <summary>The hub answered 401 or 403: set HF_TOKEN, or accept the model's licence on its page.</summary>
    AccessDenied,

    /// <summary>The hub answered 404: wrong repository, revision, folder or file name.</summary>
    NotFound,

    /// <summary>A file kept arriving with the wrong size or SHA-256.</summary>
    Integrity,

    /// <summary>The cache folder's disk is full.</summary>
    DiskFull,
}

/// <summary>A model could not be downloaded; <see cref="Failure"/> says why and the message says what to do.</summary>
public sealed class ModelDownloadException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="failure">Why it failed.</param>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="statusCode">The HTTP status, when the server answered.</param>
    /// <param name="innerException">The cause.</param>
    public ModelDownloadException(ModelDownloadFailure failure, string message, HttpStatusCode? statusCode = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Failure = failure;
        StatusCode = statusCode;
    }

    /// <summary>Creates the exception (for serializers; prefer the other constructors).</summary>
    public ModelDownloadException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public ModelDownloadException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ModelDownloadException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Why the download failed.</summary>
    public ModelDownloadFailure Failure { get; }

    /// <summary>The HTTP status the server answered, when it did.</summary>
    public HttpStatusCode? StatusCode { get; }
}
