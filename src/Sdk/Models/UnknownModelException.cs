namespace LocalLlm.Models;

/// <summary>A model was named that is neither an existing folder nor a catalog id. The message lists the known ids.</summary>
public sealed class UnknownModelException : ArgumentException
{
    /// <summary>Creates the exception for <paramref name="model"/>.</summary>
    /// <param name="model">What the user asked for.</param>
    /// <param name="knownIds">The catalog's ids.</param>
    public UnknownModelException(string model, IReadOnlyList<string> knownIds)
        : base($"'{model}' is neither a model folder (no such directory) nor a catalog id. Known ids: " +
               $"{string.Join(", ", knownIds ?? [])}. Use a folder that contains genai_config.json, one of these ids, " +
               $"or add your model under {ModelCatalog.ConfigurationSection}.")
    {
        Model = model;
        KnownIds = knownIds ?? [];
    }

    /// <summary>Creates the exception (for serializers; prefer the other constructor).</summary>
    public UnknownModelException() : this("", []) { }

    /// <summary>Creates the exception with a custom message.</summary>
    /// <param name="message">The message.</param>
    public UnknownModelException(string message) : base(message) { Model = ""; KnownIds = []; }

    /// <summary>Creates the exception with a custom message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public UnknownModelException(string message, Exception innerException) : base(message, innerException) { Model = ""; KnownIds = []; }

    /// <summary>What the user asked for.</summary>
    public string Model { get; }

    /// <summary>The catalog's ids at the time.</summary>
    public IReadOnlyList<string> KnownIds { get; }
}
