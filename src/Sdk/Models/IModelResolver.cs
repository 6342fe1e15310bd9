namespace LocalLlm.Models;

/// <summary>Turns what a user typed (<c>--model phi-3.5-mini</c>, or a folder path) into a local model folder.</summary>
public interface IModelResolver
{
    /// <summary>
    /// Returns <paramref name="model"/> itself when it is an existing folder; otherwise looks it up in the catalog
    /// (<c>id</c> or <c>id:variant</c>), chooses a variant and downloads it on first use.
    /// </summary>
    /// <param name="model">A folder path, a catalog id, or <c>id:variant</c>.</param>
    /// <param name="selection">Execution provider, memory or variant for the automatic choice; null for CPU defaults.</param>
    /// <param name="progress">Download progress (only reported when something is downloaded).</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The absolute path of a complete model folder.</returns>
    /// <exception cref="UnknownModelException">Neither a folder nor a known id; the message lists the known ids.</exception>
    /// <exception cref="ModelDownloadException">The download failed; <see cref="ModelDownloadException.Failure"/> says why.</exception>
    Task<string> ResolveAsync(string model, ModelSelection? selection = null,
        IProgress<ModelDownloadProgress>? progress = null, CancellationToken cancellationToken = default);
}
