using System.Diagnostics.Metrics;
using LocalLlm;
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
    /// once, on first use or at start (<see cref="LocalLlmOptions.PreloadOnStart"/>).
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
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LocalLlmOptions>, LocalLlmModelPathValidator>());
        services.TryAddSingleton(sp => new LocalLlmTelemetry(sp.GetService<IMeterFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LocalLlmPreloadService>());
    }

    private static LocalModel CreateModel(IServiceProvider sp, string name)
    {
        var o = sp.GetRequiredService<IOptionsMonitor<LocalLlmOptions>>().Get(name);
        var modelOptions = new LocalModelOptions { ExecutionProvider = o.ExecutionProvider, DeviceId = o.DeviceId };
        return LocalModel.Load(o.ModelPath, modelOptions, sp.GetService<ILoggerFactory>()?.CreateLogger<LocalModel>());
    }

    private static LocalLlmChatClient CreateClient(IServiceProvider sp, LocalModel model, string name)
    {
        var o = sp.GetRequiredService<IOptionsMonitor<LocalLlmOptions>>().Get(name);
        var clientOptions = new LocalLlmChatClientOptions
        {
            DefaultMaxOutputTokens = o.DefaultMaxOutputTokens,
            MaxConcurrentRequests = o.MaxConcurrentRequests,
            MaxQueueLength = o.MaxQueueLength,
            EnableKvCacheReuse = o.EnableKvCacheReuse,
            KvCacheBudgetBytes = o.KvCacheBudgetBytes,
            MaxConversations = o.MaxConversations,
            ChatTemplate = o.ChatTemplate,
            Truncation = o.Truncation,
        };
        return new LocalLlmChatClient(model, clientOptions, sp.GetRequiredService<LocalLlmTelemetry>(), sp.GetService<ILogger<LocalLlmChatClient>>());
    }
}

/// <summary>A registered model (null key = the default one), for the preload service.</summary>
internal sealed record PreloadRegistration(string? Key);

/// <summary>Loads models marked <see cref="LocalLlmOptions.PreloadOnStart"/> while the host starts, so the first request does not pay for it.</summary>
internal sealed class LocalLlmPreloadService(IServiceProvider services, IEnumerable<PreloadRegistration> registrations, IOptionsMonitor<LocalLlmOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var r in registrations.Distinct())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!options.Get(r.Key ?? Options.Options.DefaultName).PreloadOnStart) continue;
            _ = r.Key is null ? services.GetRequiredService<LocalModel>() : services.GetRequiredKeyedService<LocalModel>(r.Key);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
