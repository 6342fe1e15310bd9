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
    [InlineData("Batching", "7", "must be Off or Auto")]
    [InlineData("MaxCachedGenerators", "0", "between 1 and 1000000")]
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

    [Fact]
    public async Task AddKeyedLocalLlm_Metrics_EveryMeasurementCarriesModelAndKey()
    {
        // Two keys over the same folder: the same model id, so only the key keeps their series apart.
        using var sp = Build(s =>
        {
            s.AddKeyedLocalLlm("a", o => o.ModelPath = CopyFolder);
            s.AddKeyedLocalLlm("b", o => o.ModelPath = CopyFolder);
        });
        var factory = sp.GetRequiredService<IMeterFactory>();
        var measurements = new List<(string Name, long Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) => { if (ReferenceEquals(i.Meter.Scope, factory) && i.Meter.Name == "LocalLlm") l.EnableMeasurementEvents(i); };
        void Record(Instrument i, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, object?>();
            foreach (var t in tags) copy[t.Key] = t.Value;
            lock (measurements) measurements.Add((i.Name, value, copy));
        }
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        listener.SetMeasurementEventCallback<double>((i, _, tags, _) => Record(i, 0, tags));
        listener.Start();

        await sp.GetRequiredKeyedService<IChatClient>("a").GetResponseAsync("Hello there world", new ChatOptions { MaxOutputTokens = 2 });
        await sp.GetRequiredKeyedService<IChatClient>("b").GetResponseAsync("Hello there world, again", new ChatOptions { MaxOutputTokens = 3 });

        string id = Path.GetFileName(CopyFolder);
        Assert.NotEmpty(measurements);
        Assert.All(measurements, m => Assert.Equal(id, m.Tags.GetValueOrDefault("gen_ai.request.model")));
        Assert.All(measurements, m => Assert.Contains(m.Tags.GetValueOrDefault("localllm.model.key"), new object?[] { "a", "b" }));
        long Output(string key) => measurements.Where(m => m.Name == "localllm.output.tokens" && (string?)m.Tags["localllm.model.key"] == key).Sum(m => m.Value);
        Assert.Equal(2, Output("a"));
        Assert.Equal(3, Output("b"));
        // In-flight bytes go up while a request runs and back to zero; the idle cache is its own series.
        Assert.Contains(measurements, m => m.Name == "localllm.kv_cache.active_bytes" && m.Value > 0);
        Assert.Equal(0, measurements.Where(m => m.Name == "localllm.kv_cache.active_bytes").Sum(m => m.Value));
        Assert.Equal(1, measurements.Where(m => m.Name == "localllm.kv_cache.generators" && (string?)m.Tags["localllm.model.key"] == "b").Sum(m => m.Value));
    }

    [Fact]
    public async Task AddLocalLlm_BatchingFromConfiguration_ReachesTheClient()
    {
        string gqa = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Attention = AttentionKind.GroupQueryAttention, Lag = 13 + 5 });
        using var sp = Build(s => s.AddLocalLlm(), new() { ["LocalLlm:ModelPath"] = gqa, ["LocalLlm:Batching"] = "Auto", ["LocalLlm:MaxConcurrentRequests"] = "3" });
        var client = sp.GetRequiredService<IChatClient>().GetService<LocalLlmChatClient>()!;
        var response = await client.GetResponseAsync("Hello there world", new ChatOptions { Temperature = 0, MaxOutputTokens = 3 });
        Assert.Equal("wor", response.Text);
        Assert.Equal(1, client.Batching!.Submitted); // served by the native engine: Batching came from configuration
    }
}
