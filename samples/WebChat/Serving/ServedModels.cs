using Microsoft.Extensions.AI;

namespace LocalLlm.Samples.WebChat.Serving;

/// <summary>
/// The models this server answers for, by the name a request's <c>model</c> field uses. Clients are resolved on first
/// use (the model loads then, or at start through the warm-up), so building the list costs nothing.
/// </summary>
public sealed class ServedModels
{
    private readonly List<ServedModel> _models;

    /// <summary>Several keyed registrations (<c>AddKeyedLocalLlm(name)</c>), the first one the default.</summary>
    /// <exception cref="ArgumentException">No names, or a name twice.</exception>
    public ServedModels(IServiceProvider services, IEnumerable<string> keys)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(keys);
        _models = [.. keys.Select(k => new ServedModel(k, k, new Lazy<IChatClient>(() => services.GetRequiredKeyedService<IChatClient>(k))))];
        if (_models.Count == 0) throw new ArgumentException("Name at least one model.", nameof(keys));
        if (_models.Select(m => m.Name).Distinct(StringComparer.Ordinal).Count() != _models.Count)
            throw new ArgumentException("WebChat:Models names a model twice; names must be unique.", nameof(keys));
    }

    /// <summary>One client, named <paramref name="name"/> or, when null, by the client's own model id.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="client"/> is null.</exception>
    public ServedModels(IChatClient client, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _models = [new ServedModel(name ?? client.GetService<ChatClientMetadata>()?.DefaultModelId ?? "local", null, new Lazy<IChatClient>(client))];
    }

    /// <summary>Every served model, the default first.</summary>
    public IReadOnlyList<ServedModel> All => _models;

    /// <summary>The model named <paramref name="name"/> (ordinal), the default when null; null when there is no such model.</summary>
    public ServedModel? Find(string? name) => name is null ? _models[0] : _models.Find(m => string.Equals(m.Name, name, StringComparison.Ordinal));
}

/// <summary>One served model: its public name, its DI key (null for the unkeyed registration) and its chat client.</summary>
public sealed class ServedModel(string name, string? key, Lazy<IChatClient> client)
{
    /// <summary>The name requests use and /v1/models lists.</summary>
    public string Name { get; } = name;

    /// <summary>The DI service key, or null.</summary>
    public string? Key { get; } = key;

    /// <summary>The chat client (resolved, and its model loaded, on first use).</summary>
    public IChatClient Client => client.Value;

    /// <summary>The local model's metadata (precision, context length), or null for a client that is not local.</summary>
    public ModelInfo? Info => Client.GetService<ModelInfo>();
}
