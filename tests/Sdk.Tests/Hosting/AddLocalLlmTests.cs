using System.Diagnostics.Metrics;
using LocalLlm.ModelForge;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LocalLlm.Tests.Hosting;

/// <summary>services.AddLocalLlm(): configuration binding, validation on start with messages that name key and fix, keyed models, preload.</summary>
public sealed class AddLocalLlmTests
{
    private static string CopyFolder => ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Lag = 13 + 5 });

    private static ServiceProvider Build(Action<IServiceCollection> register, Dictionary<string, string?>? config = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(config ?? []).Build());
        services.AddLogging();
        services.AddMetrics();
        register(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    [Fact]
    public async Task AddLocalLlm_FromConfigurationSection_ResolvesAWorkingChatClient()
    {
        using var sp = Build(s => s.AddLocalLlm(), new() { ["LocalLlm:ModelPath"] = CopyFolder, ["LocalLlm:DefaultMaxOutputTokens"] = "3" });
        var client = sp.GetRequiredService<IChatClient>();
        var response = await client.GetResponseAsync("Hello there world");
        Assert.Equal("wor", response.Text); // the copy design echoes "world", cut at 3 tokens
        Assert.Equal(3, response.Usage!.OutputTokenCount); // DefaultMaxOutputTokens from configuration
        Assert.Same(sp.GetRequiredService<LocalModel>(), client.GetService<LocalModel>());
    }

    [Fact]
    public async Task AddLocalLlm_BuilderMiddleware_WrapsTheLocalClient()
    {
        int calls = 0;
        using var sp = Build(s => s.AddLocalLlm(o => o.ModelPath = CopyFolder)
            .Use((messages, options, next, ct) => { calls++; return next(messages, options, ct); }));
        await sp.GetRequiredService<IChatClient>().GetResponseAsync("hi there");
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task AddLocalLlm_AdaptersFromConfiguration_RequestPicksOneByName()
    {
        var forged = new ForgeOptions { Design = ModelDesign.Copy, Lag = 13 + 5, LoraRank = 1 };
        string adapter = Path.Combine(Directory.CreateTempSubdirectory("localllm-hosting-").FullName, "short.onnx_adapter");
        Forge.WriteCopyAdapter(forged, 13 + 3, adapter);
        try
        {
            using var sp = Build(s => s.AddLocalLlm(), new() { ["LocalLlm:ModelPath"] = ForgedModels.GetOrCreate(forged), ["LocalLlm:Adapters:short"] = adapter });
            var client = sp.GetRequiredService<IChatClient>();

            Assert.Equal("world", (await client.GetResponseAsync("Hello there world")).Text);
            Assert.Equal("rld", (await client.GetResponseAsync("Hello there world", new ChatOptions().WithAdapter("short"))).Text);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(adapter)!, recursive: true);
        }
    }

    [Fact]
    public void AddLocalLlm_MissingAdapterFile_FailsOnStartNamingKeyAndFix()
    {
        using var sp = Build(s => s.AddLocalLlm(), new() { ["LocalLlm:ModelPath"] = CopyFolder, ["LocalLlm:Adapters:sql"] = "/no/such.onnx_adapter" });
        var e = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<LocalLlmOptions>>().Value);
        Assert.Contains("LocalLlm:Adapters:sql '/no/such.onnx_adapter' does not exist. Set it to the path of an .onnx_adapter file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddLocalLlm_MissingModelPath_FailsOnStartNamingKeyAndFix()
    {
        using var sp = Build(s => s.AddLocalLlm());
        var e = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptionsMonitor<LocalLlmOptions>>().Get(Options.DefaultName));
        Assert.Contains("LocalLlm:Model or LocalLlm:ModelPath is required", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddLocalLlm_NonexistentFolder_FailsNamingThePath()
    {
        using var sp = Build(s => s.AddLocalLlm(o => o.ModelPath = "/no/such/model"));
        var e = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<LocalLlmOptions>>().Value);
        Assert.Contains("LocalLlm:ModelPath '/no/such/model' does not exist", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("MaxConcurrentRequests", "0", "between 1 and 64")]
    [InlineData("DefaultMaxOutputTokens", "-1", "between 1 and 1000000")]
    public void AddLocalLlm_OutOfRangeOption_FailsWithItsMessage(string key, string value, string message)
    {
        using var sp = Build(s => s.AddLocalLlm(), new() { ["LocalLlm:ModelPath"] = CopyFolder, [$"LocalLlm:{key}"] = value });
        var e = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<LocalLlmOptions>>().Value);
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddLocalLlm_ValidateOnStart_HostStartFailsBeforeAnyRequest()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLocalLlm(o => o.ModelPath = "/no/such/model");
        using var host = builder.Build();
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddLocalLlm_PreloadOnStart_LoadsTheModelWhileTheHostStarts()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLocalLlm(o => { o.ModelPath = CopyFolder; o.PreloadOnStart = true; });
        using var host = builder.Build();
        using var listener = new MeterListener();
        await host.StartAsync();
        // Loaded: resolving it again returns the same instance without loading.
        var model = host.Services.GetRequiredService<LocalModel>();
        Assert.Equal(261, model.Info.VocabSize);
        await host.StopAsync();
    }

    [Fact]
    public async Task AddKeyedLocalLlm_TwoModels_EachAnswersFromItsOwnFolder()
    {
        string successor = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Successor });
        using var sp = Build(s =>
        {
            s.AddKeyedLocalLlm("small");
            s.AddKeyedLocalLlm("large", o => o.ModelPath = CopyFolder);
        }, new() { ["LocalLlm:small:ModelPath"] = successor, ["LocalLlm:small:DefaultMaxOutputTokens"] = "4" });

        var small = sp.GetRequiredKeyedService<IChatClient>("small");
        var large = sp.GetRequiredKeyedService<IChatClient>("large");
        Assert.Equal(successor.TrimEnd('/'), small.GetService<ModelInfo>()!.Folder.TrimEnd('/'));
        Assert.NotEqual(small.GetService<LocalModel>(), large.GetService<LocalModel>());
        var answer = await small.GetResponseAsync("x");
        Assert.Equal(4, answer.Usage!.OutputTokenCount);
    }

    [Fact]
    public void AddLocalLlm_NullServices_Throws()
    {
        Assert.Throws<ArgumentNullException>("services", () => ((IServiceCollection)null!).AddLocalLlm());
        Assert.Throws<ArgumentNullException>("services", () => ((IServiceCollection)null!).AddKeyedLocalLlm("k"));
        Assert.ThrowsAny<ArgumentException>(() => new ServiceCollection().AddKeyedLocalLlm(""));
    }

    [Fact]
    public async Task AddLocalLlm_Metrics_ReportTimeToFirstTokenOnTheLocalLlmMeter()
    {
        using var sp = Build(s => s.AddLocalLlm(o => o.ModelPath = CopyFolder));
        var seen = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == "LocalLlm") l.EnableMeasurementEvents(i); };
        listener.SetMeasurementEventCallback<double>((i, _, _, _) => { lock (seen) seen.Add(i.Name); });
        listener.SetMeasurementEventCallback<long>((i, _, _, _) => { lock (seen) seen.Add(i.Name); });
        listener.Start();
        await sp.GetRequiredService<IChatClient>().GetResponseAsync("Hello there world");
        Assert.Contains("gen_ai.server.time_to_first_token", seen);
        Assert.Contains("localllm.output.tokens", seen);
        Assert.Contains("localllm.requests.active", seen);
    }
}
