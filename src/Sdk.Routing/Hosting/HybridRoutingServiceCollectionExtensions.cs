using System.Diagnostics.Metrics;
using LocalLlm.Routing;
using LocalLlm.Routing.Accounting;
using LocalLlm.Routing.Cascade;
using LocalLlm.Routing.Classifier;
using LocalLlm.Routing.Hosting;
using LocalLlm.Routing.Strategies;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the hybrid router as the application's <see cref="IChatClient"/>.</summary>
public static class HybridRoutingServiceCollectionExtensions
{
    /// <summary>
    /// Registers a <see cref="HybridRoutingChatClient"/> as the <see cref="IChatClient"/>: settings from the
    /// <c>LocalLlm:Routing</c> configuration section (when an IConfiguration is registered), then
    /// <paramref name="configure"/>; validated on start. Each tier is a remote endpoint from its settings or the
    /// keyed <see cref="IChatClient"/> registered under the tier's name. Strategies are asked in this order: the
    /// configured rules, every registered <see cref="IRoutingStrategy"/>, then the classifier if enabled.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Adjusts the settings after configuration binding.</param>
    /// <returns>A builder for middleware above the router (UseOpenTelemetry, UseLogging, ...).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static ChatClientBuilder AddHybridRouting(this IServiceCollection services, Action<HybridRoutingSettings>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<HybridRoutingSettings>()
            .Configure<IServiceProvider>((o, sp) => sp.GetService<IConfiguration>()?.GetSection(HybridRoutingSettings.SectionName).Bind(o));
        if (configure is not null)
            options.Configure(configure);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HybridRoutingSettings>, HybridRoutingSettingsValidator>());
        services.TryAddSingleton<RoutingLedger>();
        return services.AddChatClient(Create);
    }

    private static HybridRoutingChatClient Create(IServiceProvider services)
    {
        HybridRoutingSettings settings = services.GetRequiredService<IOptions<HybridRoutingSettings>>().Value;
        var tiers = settings.Tiers.Select(pair =>
        {
            (string name, TierSettings tier) = pair;
            IChatClient client = tier.Remote is { } remote
                ? RemoteChatClient.Create(remote.Endpoint!, remote.Model, remote.ApiKey, remote.NetworkTimeout, remote.MaxRetries)
                : services.GetKeyedService<IChatClient>(name)
                    ?? throw new InvalidOperationException($"Tier '{name}' has no {HybridRoutingSettings.SectionName}:Tiers:{name}:Remote endpoint and no keyed IChatClient '{name}' is registered; call services.AddKeyedLocalLlm(\"{name}\", ...) or set the Remote endpoint.");
            return new RoutingTier(name, client)
            {
                FailoverTo = tier.FailoverTo,
                Timeout = tier.Timeout,
                InputPricePer1kTokens = tier.InputPricePer1kTokens,
                OutputPricePer1kTokens = tier.OutputPricePer1kTokens,
            };
        }).ToList();

        var routing = new HybridRoutingOptions { DefaultTier = settings.DefaultTier };
        RuleSettings r = settings.Rules;
        var rules = new List<RoutingRule>();
        if (r.Tools) rules.Add(RoutingRule.ToolsRequired(r.Tier));
        if (r.JsonMode) rules.Add(RoutingRule.JsonMode(r.Tier));
        if (r.MaxContextCharacters is { } context) rules.Add(RoutingRule.ContextLongerThan(context, r.Tier));
        if (r.MaxPromptCharacters is { } prompt) rules.Add(RoutingRule.PromptLongerThan(prompt, r.Tier));
        if (r.Keywords.Count > 0) rules.Add(RoutingRule.ContainsKeyword(r.Keywords, r.Tier));
        if (rules.Count > 0) routing.Strategies.Add(new RuleRoutingStrategy(rules));
        foreach (IRoutingStrategy strategy in services.GetServices<IRoutingStrategy>())
            routing.Strategies.Add(strategy);
        if (settings.Classifier.Enabled)
        {
            routing.Strategies.Add(new ClassifierRoutingStrategy(PromptClassifier.LoadDefault(), settings.Classifier.LargeShare,
                settings.Classifier.SmallTier, settings.Classifier.LargeTier));
        }
        if (settings.Cascade.Enabled)
        {
            routing.Cascade = new CascadeOptions
            {
                FromTier = settings.Cascade.FromTier,
                ToTier = settings.Cascade.ToTier,
                MinConfidence = settings.Cascade.MinConfidence,
                Confidence = settings.Cascade.Confidence switch
                {
                    "LogProbabilities" => new LogProbabilityConfidenceEstimator(),
                    "Service" => services.GetService<ConfidenceEstimator>()
                        ?? throw new InvalidOperationException($"{HybridRoutingSettings.SectionName}:Cascade:Confidence is Service but no ConfidenceEstimator is registered; register one with services.AddSingleton<ConfidenceEstimator>(...)."),
                    _ => null,
                },
            };
        }
        return new HybridRoutingChatClient(tiers, routing, services.GetRequiredService<RoutingLedger>(),
            services.GetService<ILoggerFactory>(), services.GetService<IMeterFactory>());
    }
}
