using LocalLlm.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace LocalLlm.Samples.Chat;

/// <summary>
/// <c>--model &lt;id|folder&gt;</c>: the SDK's own resolver (<c>AddLocalLlmModels</c>), configured from environment
/// variables as an app's configuration would be (<c>LocalLlm__Download__CacheDirectory</c>, <c>LocalLlm__Catalog__&lt;id&gt;__…</c>, <c>HF_TOKEN</c>).
/// </summary>
internal static class CatalogModels
{
    public static async Task<string> ResolveAsync(string model, ExecutionProvider provider, IProgress<ModelDownloadProgress> progress, CancellationToken cancellationToken)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        await using var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLocalLlmModels().BuildServiceProvider();
        // The same variant choice AddLocalLlm makes for this provider.
        return await services.GetRequiredService<IModelResolver>().ResolveAsync(model, ModelSelection.For(provider), progress, cancellationToken);
    }
}
