using LocalLlm.Routing.Accounting;
using LocalLlm.Routing.Hosting;
using LocalLlm.Routing.Tests.Remote;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LocalLlm.Routing.Tests.Hosting;

public sealed class HybridRoutingServiceCollectionExtensionsTests
{
    [Fact]
    public async Task AddHybridRouting_FromConfiguration_KeyedSmallAndRemoteLargeRouteByRules()
    {
        var server = new FakeChatClient("remote");
        await using var host = await OpenAICompatibleHost.StartAsync(server);
        var small = new FakeChatClient("small");
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LocalLlm:Routing:DefaultTier"] = "small",
            ["LocalLlm:Routing:Tiers:small:FailoverTo"] = "large",
            ["LocalLlm:Routing:Tiers:small:InputPricePer1kTokens"] = "0",
            ["LocalLlm:Routing:Tiers:large:Remote:Endpoint"] = host.Endpoint.ToString(),
            ["LocalLlm:Routing:Tiers:large:Remote:Model"] = "big-model",
            ["LocalLlm:Routing:Tiers:large:Remote:NetworkTimeout"] = "00:00:10",
            ["LocalLlm:Routing:Tiers:large:InputPricePer1kTokens"] = "2.5",
            ["LocalLlm:Routing:Tiers:large:FailoverTo"] = "small",
            ["LocalLlm:Routing:Rules:Keywords:0"] = "prove",
            ["LocalLlm:Routing:Rules:Tools"] = "true",
        }).Build());
        services.AddKeyedChatClient("small", small);
        services.AddHybridRouting();
        await using var provider = services.BuildServiceProvider();
        var chat = provider.GetRequiredService<IChatClient>();

        ChatResponse hard = await chat.GetResponseAsync(Tiers.Ask("prove it"));
        ChatResponse easy = await chat.GetResponseAsync(Tiers.Ask("hello"));

        Assert.Equal(("remote answer", "large"), (hard.Text, hard.GetRouteDecision()!.Tier));
        Assert.Equal(("small answer", "small"), (easy.Text, easy.GetRouteDecision()!.Tier));
        var totals = provider.GetRequiredService<RoutingLedger>().GetTotals();
        Assert.Equal(10 * 2.5m / 1000, totals.Tiers["large"].Cost);
        Assert.Same(provider.GetRequiredService<RoutingLedger>(), chat.GetService<RoutingLedger>());
    }

    [Fact]
    public async Task AddHybridRouting_ClassifierAndCascadeInCode_AreApplied()
    {
        var services = new ServiceCollection();
        services.AddKeyedChatClient("small", new FakeChatClient("small"));
        services.AddKeyedChatClient("large", new FakeChatClient("large"));
        services.AddHybridRouting(o =>
        {
            o.Tiers["small"] = new TierSettings { FailoverTo = "large" };
            o.Tiers["large"] = new TierSettings();
            o.Classifier.Enabled = true;
            o.Classifier.LargeShare = 1; // everything scores at or above the lowest threshold
        });
        await using var provider = services.BuildServiceProvider();

        RouteDecision d = (await provider.GetRequiredService<IChatClient>().GetResponseAsync(Tiers.Ask("What is 2+2?"))).GetRouteDecision()!;

        Assert.Equal(("large", "classifier"), (d.Tier, d.Strategy));
    }

    [Theory]
    [InlineData("LocalLlm:Routing:DefaultTier", "medium", "DefaultTier names tier 'medium'")]
    [InlineData("LocalLlm:Routing:Tiers:large:Remote:Model", "", "Remote:Model is empty")]
    [InlineData("LocalLlm:Routing:Cascade:Enabled", "true", "Cascade:Confidence 'Magic'")]
    [InlineData("LocalLlm:Routing:Classifier:LargeShare", "2", "Classifier:LargeShare must be between 0 and 1")]
    public void AddHybridRouting_BadConfiguration_FailsWithTheKeyAndFix(string key, string value, string expected)
    {
        var settings = new Dictionary<string, string?>
        {
            ["LocalLlm:Routing:Tiers:small:FailoverTo"] = "large",
            ["LocalLlm:Routing:Tiers:large:Remote:Endpoint"] = "http://127.0.0.1:9/v1",
            ["LocalLlm:Routing:Tiers:large:Remote:Model"] = "m",
            ["LocalLlm:Routing:Cascade:Confidence"] = "Magic",
            ["LocalLlm:Routing:Classifier:Enabled"] = "true",
            [key] = value,
        };
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddKeyedChatClient("small", new FakeChatClient("small"));
        services.AddHybridRouting();
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HybridRoutingSettings>>().Value);

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddHybridRouting_TierWithoutClientOrEndpoint_SaysHowToRegisterIt()
    {
        var services = new ServiceCollection();
        services.AddHybridRouting(o => o.Tiers["small"] = new TierSettings());
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IChatClient>());

        Assert.Contains("AddKeyedLocalLlm(\"small\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddHybridRouting_NullServices_Throws() =>
        Assert.Throws<ArgumentNullException>("services", () => ((IServiceCollection)null!).AddHybridRouting());
}
