namespace LocalLlm;

/// <summary>A model folder is missing, incomplete or inconsistent. The message names the file and the fix.</summary>
public sealed class ModelFolderException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ModelFolderException() { }

    /// <summary>Creates the exception.</summary>
    public ModelFolderException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public ModelFolderException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for a folder.</summary>
    public ModelFolderException(string folder, string message, Exception? innerException = null)
        : base(message, innerException) => Folder = folder;

    /// <summary>The model folder concerned.</summary>
    public string? Folder { get; }
}
