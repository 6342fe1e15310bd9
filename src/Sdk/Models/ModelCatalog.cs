using Microsoft.Extensions.Configuration;

namespace LocalLlm.Models;

/// <summary>
/// The models that can be named by id (<c>phi-3.5-mini</c>) instead of a folder path: the built-in entries plus any
/// added from configuration (<c>LocalLlm:Catalog</c>), where an entry with a built-in id replaces it.
/// </summary>
public sealed class ModelCatalog
{
    /// <summary>The configuration section that adds or replaces entries.</summary>
    public const string ConfigurationSection = "LocalLlm:Catalog";

    private readonly Dictionary<string, ModelCatalogEntry> _entries = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Creates a catalog of exactly <paramref name="entries"/> (later entries replace earlier ones with the same id).</summary>
    /// <param name="entries">The entries.</param>
    /// <exception cref="ArgumentNullException"><paramref name="entries"/> is null.</exception>
    /// <exception cref="ArgumentException">An entry has no id, repository, variant or file.</exception>
    public ModelCatalog(IEnumerable<ModelCatalogEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var entry in entries)
        {
            Validate(entry);
            _entries[entry.Id] = entry;
        }
    }

    /// <summary>The built-in catalog (Phi-3.5-mini, Phi-4-mini, Qwen2.5-0.5B, Llama-3.2-1B/3B).</summary>
    public static ModelCatalog BuiltIn { get; } = new(BuiltInModels.All());

    /// <summary>The built-in entries plus those under <c>LocalLlm:Catalog</c> in <paramref name="configuration"/>.</summary>
    /// <param name="configuration">The app configuration (root), or null for the built-in entries only.</param>
    /// <returns>The merged catalog.</returns>
    /// <exception cref="ArgumentException">A configured entry is incomplete; the message names its key.</exception>
    public static ModelCatalog Create(IConfiguration? configuration)
    {
        var entries = BuiltInModels.All().ToList();
        if (configuration is not null)
        {
            foreach (var section in configuration.GetSection(ConfigurationSection).GetChildren())
            {
                var entry = new ModelCatalogEntry();
                section.Bind(entry);
                entry.Id = section.Key;
                foreach (var (name, variant) in entry.Variants)
                    variant.Name = name;
                entries.Add(entry);
            }
        }
        return new ModelCatalog(entries);
    }

    /// <summary>All entries, ordered by id.</summary>
    public IReadOnlyList<ModelCatalogEntry> Entries => [.. _entries.Values.OrderBy(e => e.Id, StringComparer.OrdinalIgnoreCase)];

    /// <summary>The known ids, ordered.</summary>
    public IReadOnlyList<string> Ids => [.. Entries.Select(e => e.Id)];

    /// <summary>Looks up an entry by id (case-insensitive).</summary>
    /// <param name="id">The model id.</param>
    /// <param name="entry">The entry, when found.</param>
    /// <returns>Whether the id is known.</returns>
    public bool TryGet(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ModelCatalogEntry? entry) =>
        _entries.TryGetValue(id ?? "", out entry);

    /// <summary>Finds what <c>--model</c> names: an id, or <c>id:variant</c> (an id that itself contains ':' wins).</summary>
    internal bool TryFind(string model, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ModelCatalogEntry? entry, out string? variant)
    {
        string trimmed = (model ?? "").Trim();
        variant = null;
        if (TryGet(trimmed, out entry))
            return true;
        int colon = trimmed.LastIndexOf(':');
        if (colon <= 0 || colon == trimmed.Length - 1 || !TryGet(trimmed[..colon], out entry))
            return false;
        variant = trimmed[(colon + 1)..];
        return true;
    }

    /// <summary>Gets an entry by id.</summary>
    /// <param name="id">The model id.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="UnknownModelException">The id is not in the catalog; the message lists the known ids.</exception>
    public ModelCatalogEntry Get(string id) =>
        TryGet(id, out var entry) ? entry : throw new UnknownModelException(id, Ids);

    private static void Validate(ModelCatalogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        string where = $"{ConfigurationSection}:{(entry.Id.Length > 0 ? entry.Id : "?")}";
        if (string.IsNullOrWhiteSpace(entry.Id))
            throw new ArgumentException("A catalog entry has no Id.", nameof(entry));
        if (entry.Repository.Split('/') is not [{ Length: > 0 }, { Length: > 0 }])
            throw new ArgumentException($"{where}:Repository must be 'owner/name' (got '{entry.Repository}').", nameof(entry));
        if (entry.Variants.Count == 0)
            throw new ArgumentException($"{where}:Variants is empty; add at least one variant with its Folder and Files.", nameof(entry));
        foreach (var (name, variant) in entry.Variants)
        {
            if (variant.Files.Count == 0 || variant.Files.Any(f => string.IsNullOrWhiteSpace(f.Path)))
                throw new ArgumentException($"{where}:Variants:{name}:Files must list the folder's files by Path.", nameof(entry));
            if (variant.Files.Any(f => f.Path.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(f.Path)))
                throw new ArgumentException($"{where}:Variants:{name}:Files must be relative paths inside the folder.", nameof(entry));
            if (!variant.Files.Any(f => f.Path.Equals("genai_config.json", StringComparison.OrdinalIgnoreCase)))
                throw new ArgumentException($"{where}:Variants:{name}:Files must include genai_config.json (an ONNX Runtime GenAI folder).", nameof(entry));
        }
    }
}
