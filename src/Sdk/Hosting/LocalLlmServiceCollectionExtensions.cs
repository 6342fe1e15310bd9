using System.Diagnostics.Metrics;
using LocalLlm;
using LocalLlm.Models;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers local models as <see cref="IChatClient"/>s.</summary>
public static class LocalLlmServiceCollectionExtensions
{
    /// <summary>
    /// Registers a local model as the <see cref="IChatClient"/>: options from the <c>LocalLlm</c> configuration section
    /// (when an IConfiguration is registered), then <paramref name="configure"/>; validated on start. The model loads
    /// once, on first use or at start (<see cref="LocalLlmOptions.PreloadOnStart"/>); a catalog id in
    /// <see cref="LocalLlmOptions.Model"/> is downloaded first if it is not in the cache (the catalog services of
    /// <c>AddLocalLlmModels</c> are registered too).
    /// </summary>
    /// <returns>A builder to add middleware (UseGuardrails, UseFunctionInvocation, UseOpenTelemetry, …).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static ChatClientBuilder AddLocalLlm(this IServiceCollection services, Action<LocalLlmOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddOptions(services, Options.Options.DefaultName, LocalLlmOptions.SectionName, configure);
        AddShared(services);
        services.TryAddSingleton(sp => CreateModel(sp, Options.Options.DefaultName));
        services.AddSingleton(new PreloadRegistration(null));
        return services.AddChatClient(sp => CreateClient(sp, sp.GetRequiredService<LocalModel>(), Options.Options.DefaultName));
    }

    /// <summary>Registers one of several local models under <paramref name="serviceKey"/> (options from <c>LocalLlm:&lt;key&gt;</c>).</summary>
    /// <returns>A builder for the keyed client's middleware.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="serviceKey"/> is null.</exception>
    public static ChatClientBuilder AddKeyedLocalLlm(this IServiceCollection services, string serviceKey, Action<LocalLlmOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(serviceKey);
        AddOptions(services, serviceKey, $"{LocalLlmOptions.SectionName}:{serviceKey}", configure);
        AddShared(services);
        services.TryAddKeyedSingleton(serviceKey, (sp, _) => CreateModel(sp, serviceKey));
        services.AddSingleton(new PreloadRegistration(serviceKey));
        return services.AddKeyedChatClient(serviceKey, sp => CreateClient(sp, sp.GetRequiredKeyedService<LocalModel>(serviceKey), serviceKey));
    }

    private static void AddOptions(IServiceCollection services, string name, string section, Action<LocalLlmOptions>? configure)
    {
        var builder = services.AddOptions<LocalLlmOptions>(name)
            .Configure<IServiceProvider>((o, sp) => sp.GetService<IConfiguration>()?.GetSection(section).Bind(o));
        if (configure is not null) builder.Configure(configure);
        builder.ValidateOnStart();
    }

    private static void AddShared(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LocalLlmOptions>, LocalLlmOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LocalLlmOptions>, LocalLlmModelValidator>());
        services.AddLocalLlmModels();
        services.TryAddSingleton(sp => new LocalLlmTelemetry(sp.GetService<IMeterFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LocalLlmPreloadService>());
    }

    private static LocalModel CreateModel(IServiceProvider sp, string name)
    {
        var o = sp.GetRequiredService<IOptionsMonitor<LocalLlmOptions>>().Get(name);
        // DI factories are synchronous. The download runs on the thread pool so that no caller's SynchronizationContext
        // is captured by its awaits (no deadlock); the preload service resolves asynchronously first, leaving a cache hit here.
        var stopping = sp.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        string folder = Task.Run(() => ResolveModelFolderAsync(sp, o, stopping), stopping).GetAwaiter().GetResult();
        var modelOptions = new LocalModelOptions { ExecutionProvider = o.ExecutionProvider, DeviceId = o.DeviceId, TuneNativeHeap = o.TuneNativeHeap };
        return LocalModel.Load(folder, modelOptions, sp.GetService<ILoggerFactory>()?.CreateLogger<LocalModel>());
    }

    /// <summary>The folder of <see cref="LocalLlmOptions.Model"/> (downloaded for the configured provider when it is a catalog id), else ModelPath.</summary>
    internal static Task<string> ResolveModelFolderAsync(IServiceProvider sp, LocalLlmOptions o, CancellationToken cancellationToken) =>
        string.IsNullOrWhiteSpace(o.Model)
            ? Task.FromResult(o.ModelPath)
            : sp.GetRequiredService<IModelResolver>().ResolveAsync(o.Model.Trim(), ModelSelection.For(o.ExecutionProvider), null, cancellationToken);

    private static LocalLlmChatClient CreateClient(IServiceProvider sp, LocalModel model, string name)
    {
        var o = sp.GetRequiredService<IOptionsMonitor<LocalLlmOptions>>().Get(name);
        // LocalLlmOptions is the client's options too: no field-by-field copy to forget a new option in.
        var clientOptions = o.Copy();
        clientOptions.ServiceKey = name == Options.Options.DefaultName ? null : name;
        return new LocalLlmChatClient(model, clientOptions, sp.GetRequiredService<LocalLlmTelemetry>(), sp.GetService<ILogger<LocalLlmChatClient>>());
    }
}

/// <summary>A registered model (null key = the default one), for the preload service.</summary>
internal sealed record PreloadRegistration(string? Key);

/// <summary>Loads models marked <see cref="LocalLlmOptions.PreloadOnStart"/> while the host starts, so the first request does not pay for it.</summary>
internal sealed class LocalLlmPreloadService(IServiceProvider services, IEnumerable<PreloadRegistration> registrations, IOptionsMonitor<LocalLlmOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var r in registrations.Distinct())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var o = options.Get(r.Key ?? Options.Options.DefaultName);
            if (!o.PreloadOnStart) continue;
            // Download asynchronously (cancelled with start-up), so the synchronous factory below only loads.
            await LocalLlmServiceCollectionExtensions.ResolveModelFolderAsync(services, o, cancellationToken).ConfigureAwait(false);
            _ = r.Key is null ? services.GetRequiredService<LocalModel>() : services.GetRequiredKeyedService<LocalModel>(r.Key);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
