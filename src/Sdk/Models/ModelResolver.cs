using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LocalLlm.Models;

/// <summary>Resolves folder paths and catalog ids to local model folders, downloading through a <see cref="ModelDownloader"/>.</summary>
/// <param name="catalog">The catalog of ids.</param>
/// <param name="downloader">Fetches variants into the cache.</param>
/// <param name="logger">Logs which variant was chosen and why.</param>
public sealed class ModelResolver(ModelCatalog catalog, ModelDownloader downloader, ILogger<ModelResolver>? logger = null) : IModelResolver
{
    private readonly ModelCatalog _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
    private readonly ModelDownloader _downloader = downloader ?? throw new ArgumentNullException(nameof(downloader));
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <inheritdoc />
    public async Task<string> ResolveAsync(string model, ModelSelection? selection = null,
        IProgress<ModelDownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        if (Directory.Exists(model))
            return Path.GetFullPath(model);

        if (!_catalog.TryFind(model, out var entry, out string? variantName))
            throw new UnknownModelException(model, _catalog.Ids);
        if (variantName is not null)
        {
            selection = new ModelSelection
            {
                ExecutionProvider = selection?.ExecutionProvider ?? "cpu",
                MemoryBytes = selection?.MemoryBytes,
                Variant = variantName,
            };
        }
        var variant = ModelVariantSelector.Select(entry, selection, out string reason);
        Log.VariantChosen(_logger, entry.Id, variant.Name, reason);
        return await _downloader.EnsureAsync(entry, variant, progress, cancellationToken).ConfigureAwait(false);
    }
}
