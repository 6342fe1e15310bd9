using LocalLlm.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the model catalog, the downloader and <see cref="IModelResolver"/>.</summary>
public static class ModelCatalogServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="ModelCatalog"/> (built-in entries plus <c>LocalLlm:Catalog</c>), <see cref="ModelDownloadOptions"/>
    /// (bound from <c>LocalLlm:Download</c>, validated at start-up), a named <see cref="HttpClient"/>
    /// (<see cref="ModelDownloader.HttpClientName"/>, redirects followed by the downloader), <see cref="ModelDownloader"/>
    /// and <see cref="IModelResolver"/>. Safe to call more than once.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <returns>The same services.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static IServiceCollection AddLocalLlmModels(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(IModelResolver)))
            return services;

        // Bound only when an IConfiguration is registered: hosts without one (a Semantic Kernel builder) use the defaults.
        services.AddOptions<ModelDownloadOptions>()
            .Configure<IServiceProvider>((o, sp) => sp.GetService<IConfiguration>()?.GetSection(ModelDownloadOptions.ConfigurationSection).Bind(o))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddHttpClient(ModelDownloader.HttpClientName)
            .ConfigureHttpClient(c => c.Timeout = Timeout.InfiniteTimeSpan) // the downloader has its own idle timeout
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        services.TryAddSingleton(sp => ModelCatalog.Create(sp.GetService<IConfiguration>()));
        services.TryAddSingleton(sp => new ModelDownloader(
            sp.GetRequiredService<IHttpClientFactory>(),
            sp.GetRequiredService<IOptions<ModelDownloadOptions>>().Value,
            sp.GetService<ILogger<ModelDownloader>>()));
        services.TryAddSingleton<IModelResolver>(sp => new ModelResolver(
            sp.GetRequiredService<ModelCatalog>(),
            sp.GetRequiredService<ModelDownloader>(),
            sp.GetService<ILogger<ModelResolver>>()));
        return services;
    }
}
