using LocalLlm.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LocalLlm.Tests.Models;

/// <summary><c>AddLocalLlm(o => o.Model = ...)</c>: catalog ids download on first use from a real Kestrel hub; folders still work.</summary>
public sealed class AddLocalLlmModelTests : IAsyncLifetime, IDisposable
{
    private const string Id = "tiny";
    private static readonly ChatOptions s_greedy = new() { MaxOutputTokens = 6 };
    private readonly TempDirectory _cache = new("localllm-models-di");
    private FakeHub _hub = null!;

    public async Task InitializeAsync() => _hub = await FakeHub.StartAsync();

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    public void Dispose() => _cache.Dispose();

    /// <summary>A catalog entry "tiny" pointing at the fake hub, and the download cache, as an app would configure them.</summary>
    private Dictionary<string, string?> HubConfiguration() => _hub.CatalogSettings(Id, _cache.Path);

    private static ServiceProvider Build(Dictionary<string, string?> config, Action<LocalLlmOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(config).Build());
        services.AddLogging();
        services.AddLocalLlm(configure);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    private string CachedFolder => Path.Combine(_cache.Path, "localllm", FakeHub.Repository.Replace("/", "--", StringComparison.Ordinal),
        FakeHub.Revision, FakeHub.Folder.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>What the served folder itself answers (greedy), to compare a downloaded copy against.</summary>
    private static async Task<string> SourceAnswerAsync()
    {
        await using var sp = Build([], o => { o.ModelPath = FakeHub.SourceFolder; o.ExecutionProvider = ExecutionProvider.Cpu; });
        return (await sp.GetRequiredService<IChatClient>().GetResponseAsync("Hello", s_greedy)).Text;
    }

    private static OptionsValidationException ValidationError(ServiceProvider sp) =>
        Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptionsMonitor<LocalLlmOptions>>().Get(Options.DefaultName));

    [Fact]
    public async Task AddLocalLlm_ModelCatalogId_DownloadsOnFirstUseLoadsAndGenerates()
    {
        await using var sp = Build(HubConfiguration(), o => { o.Model = Id; o.ExecutionProvider = ExecutionProvider.Cpu; });
        _ = sp.GetRequiredService<IOptionsMonitor<LocalLlmOptions>>().Get(Options.DefaultName);
        Assert.Equal(0, _hub.TotalBytesServed); // registering and validating fetch nothing; resolving the client does

        var response = await sp.GetRequiredService<IChatClient>().GetResponseAsync("Hello", s_greedy);

        Assert.Equal(_hub.TotalSize, _hub.TotalBytesServed);
        Assert.True(ModelDownloader.IsComplete(CachedFolder));
        Assert.Equal(CachedFolder, sp.GetRequiredService<LocalModel>().Info.Folder);
        Assert.Equal(6, response.Usage!.OutputTokenCount);
        Assert.Equal(await SourceAnswerAsync(), response.Text); // the downloaded copy behaves exactly like the served folder
    }

    [Fact]
    public async Task AddLocalLlm_ModelAlreadyInCache_NotFetchedAgain()
    {
        await using (var first = Build(HubConfiguration(), o => o.Model = Id))
            _ = first.GetRequiredService<LocalModel>();
        long served = _hub.TotalBytesServed;

        await using var second = Build(HubConfiguration(), o => o.Model = Id);
        var response = await second.GetRequiredService<IChatClient>().GetResponseAsync("Hello", s_greedy);

        Assert.Equal(_hub.TotalSize, served);
        Assert.Equal(served, _hub.TotalBytesServed);
        Assert.NotEmpty(response.Text);
    }

    [Fact]
    public async Task AddLocalLlm_ModelFromConfigurationWithPreload_DownloadedWhileHostStarts()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(HubConfiguration());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LocalLlm:Model"] = Id,
            ["LocalLlm:ExecutionProvider"] = "Cpu",
            ["LocalLlm:PreloadOnStart"] = "true",
        });
        builder.Services.AddLocalLlm();
        using var host = builder.Build();

        await host.StartAsync();

        Assert.Equal(_hub.TotalSize, _hub.TotalBytesServed); // preloaded: downloaded before any request
        Assert.Equal(Id, host.Services.GetRequiredService<IOptions<LocalLlmOptions>>().Value.Model);
        var response = await host.Services.GetRequiredService<IChatClient>().GetResponseAsync("Hello", s_greedy);
        Assert.Equal(await SourceAnswerAsync(), response.Text);
        await host.StopAsync();
    }

    [Fact]
    public async Task AddLocalLlm_ModelIdWithVariant_UsesThatVariant()
    {
        await using var sp = Build(HubConfiguration(), o => o.Model = $"{Id}:cpu-fp16");

        Assert.Equal(CachedFolder, sp.GetRequiredService<LocalModel>().Info.Folder);
    }

    [Fact]
    public async Task AddLocalLlm_ModelIsAFolderAndNoConfigurationRegistered_LoadsItWithoutTheNetwork()
    {
        // No IConfiguration at all, as in a Semantic Kernel builder: the catalog services must not require one.
        var services = new ServiceCollection().AddLogging();
        services.AddLocalLlm(o => { o.Model = FakeHub.SourceFolder; o.ExecutionProvider = ExecutionProvider.Cpu; });
        await using var sp = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        var response = await sp.GetRequiredService<IChatClient>().GetResponseAsync("Hello", s_greedy);

        Assert.Equal(Path.GetFullPath(FakeHub.SourceFolder), sp.GetRequiredService<LocalModel>().Info.Folder);
        Assert.Equal(0, _hub.TotalBytesServed);
        Assert.Equal(6, response.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task AddLocalLlm_ModelResolvedUnderABlockingSynchronizationContext_DoesNotDeadlock()
    {
        await using var sp = Build(HubConfiguration(), o => o.Model = Id);
        LocalModel? model = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            // A UI-like context whose thread is blocked in the synchronous DI factory: nothing posted to it ever runs.
            SynchronizationContext.SetSynchronizationContext(new NeverRunsContext());
            try { model = sp.GetRequiredService<LocalModel>(); }
            catch (Exception e) { error = e; }
        });
        thread.Start();

        Assert.True(thread.Join(TimeSpan.FromMinutes(2)), "resolving the model deadlocked");
        Assert.Null(error);
        Assert.Equal(CachedFolder, model!.Info.Folder);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task AddLocalLlm_UnknownModelId_FailsValidationListingKnownIds()
    {
        await using var sp = Build(HubConfiguration(), o => o.Model = "gpt-17-ultra");

        var e = ValidationError(sp);

        Assert.Contains("LocalLlm:Model 'gpt-17-ultra' is neither a catalog id nor an existing folder", e.Message, StringComparison.Ordinal);
        Assert.Contains("phi-3.5-mini", e.Message, StringComparison.Ordinal);
        Assert.Contains(Id, e.Message, StringComparison.Ordinal);
        Assert.Equal(0, _hub.TotalBytesServed);
    }

    [Fact]
    public async Task AddLocalLlm_UnknownVariant_FailsValidationListingVariants()
    {
        await using var sp = Build(HubConfiguration(), o => o.Model = $"{Id}:cuda-int4");

        var e = ValidationError(sp);

        Assert.Contains($"LocalLlm:Model '{Id}:cuda-int4'", e.Message, StringComparison.Ordinal);
        Assert.Contains("has no variant 'cuda-int4'. Its variants: cpu-fp16", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddLocalLlm_ModelFolderMissing_FailsValidationSayingSo()
    {
        await using var sp = Build([], o => o.Model = "/no/such/model-folder");

        var e = ValidationError(sp);

        Assert.Contains("LocalLlm:Model '/no/such/model-folder' does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddLocalLlm_ModelAndModelPathBothSet_FailsValidationAskingForOne()
    {
        await using var sp = Build([], o => { o.Model = "phi-3.5-mini"; o.ModelPath = FakeHub.SourceFolder; });

        var e = ValidationError(sp);

        Assert.Contains("LocalLlm:Model and LocalLlm:ModelPath are both set", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddKeyedLocalLlm_UnknownModelId_MessageNamesTheKeyedSection()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddKeyedLocalLlm("small", o => o.Model = "nope");
        await using var sp = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptionsMonitor<LocalLlmOptions>>().Get("small"));

        Assert.Contains("LocalLlm:small:Model 'nope'", e.Message, StringComparison.Ordinal);
    }

    private sealed class NeverRunsContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) { }

        public override void Send(SendOrPostCallback d, object? state) => throw new InvalidOperationException("Send on a blocked context");
    }
}
