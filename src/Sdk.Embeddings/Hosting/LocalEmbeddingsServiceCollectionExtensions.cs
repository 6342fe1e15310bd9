using LocalLlm.Embeddings;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a local sentence encoder as the <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>.</summary>
public static class LocalEmbeddingsServiceCollectionExtensions
{
    /// <summary>
    /// Registers a <see cref="LocalEmbeddingGenerator"/> as <c>IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;</c>:
    /// options from the <c>LocalLlm:Embeddings</c> configuration section (when an IConfiguration is registered), then
    /// <paramref name="configure"/>; validated on start. With no ModelPath it is the built-in all-MiniLM-L6-v2. The
    /// model loads once, on first use.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets options after configuration.</param>
    /// <returns>A builder for embedding middleware (caching, telemetry).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static EmbeddingGeneratorBuilder<string, Embedding<float>> AddLocalLlmEmbeddings(this IServiceCollection services, Action<LocalEmbeddingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<LocalEmbeddingOptions>()
            .Configure<IServiceProvider>((o, sp) => sp.GetService<IConfiguration>()?.GetSection(LocalEmbeddingOptions.SectionName).Bind(o));
        if (configure is not null) builder.Configure(configure);
        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LocalEmbeddingOptions>, LocalEmbeddingOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LocalEmbeddingOptions>, LocalEmbeddingFolderValidator>());
        services.TryAddSingleton(sp => new LocalEmbeddingGenerator(
            sp.GetRequiredService<IOptions<LocalEmbeddingOptions>>().Value, sp.GetService<ILogger<LocalEmbeddingGenerator>>()));
        return services.AddEmbeddingGenerator<string, Embedding<float>>(sp => sp.GetRequiredService<LocalEmbeddingGenerator>());
    }
}
