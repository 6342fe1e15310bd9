using LocalLlm.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LocalLlm.Tests.Models;

public sealed class ModelCatalogTests
{
    [Fact]
    public void BuiltIn_CoversThePublishedFamilies_WithGenAiFolders()
    {
        var catalog = ModelCatalog.BuiltIn;

        Assert.Equal(["llama-3.2-1b", "llama-3.2-3b", "phi-3.5-mini", "phi-4-mini", "qwen2.5-0.5b"], catalog.Ids);
        Assert.Equal("microsoft/Phi-3.5-mini-instruct-onnx", catalog.Get("phi-3.5-mini").Repository);
        Assert.Equal("cpu_and_mobile/cpu-int4-awq-block-128-acc-level-4", catalog.Get("phi-3.5-mini").Variants["cpu-int4"].Folder);
        foreach (var entry in catalog.Entries)
        {
            Assert.NotEmpty(entry.License);
            Assert.True(entry.ContextLength > 0, entry.Id);
            Assert.Contains(entry.Variants.Values, v => v.ExecutionProvider == "cpu");
            foreach (var v in entry.Variants.Values)
            {
                Assert.Contains(v.Files, f => f.Path == "genai_config.json");
                Assert.Contains(v.Files, f => f.Path.EndsWith(".onnx", StringComparison.Ordinal));
                Assert.Contains(v.Files, f => f.Path.EndsWith(".onnx.data", StringComparison.Ordinal));
                Assert.Contains(v.Files, f => f.Path == "tokenizer.json");
            }
        }
    }

    [Fact]
    public void Get_UnknownId_ThrowsListingKnownIds()
    {
        var ex = Assert.Throws<UnknownModelException>(() => ModelCatalog.BuiltIn.Get("nonsense"));

        Assert.Contains("phi-4-mini", ex.Message, StringComparison.Ordinal);
        Assert.Contains(ModelCatalog.ConfigurationSection, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_ConfigurationSection_AddsAndReplacesEntries()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LocalLlm:Catalog:my-model:Repository"] = "me/my-model-onnx",
            ["LocalLlm:Catalog:my-model:License"] = "Apache-2.0",
            ["LocalLlm:Catalog:my-model:ContextLength"] = "4096",
            ["LocalLlm:Catalog:my-model:Variants:cpu-int4:Folder"] = "cpu",
            ["LocalLlm:Catalog:my-model:Variants:cpu-int4:Files:0:Path"] = "genai_config.json",
            ["LocalLlm:Catalog:my-model:Variants:cpu-int4:Files:1:Path"] = "model.onnx",
            ["LocalLlm:Catalog:my-model:Variants:cpu-int4:Files:1:Sha256"] = "ab",
            ["LocalLlm:Catalog:phi-4-mini:Repository"] = "mirror/phi-4-mini",
            ["LocalLlm:Catalog:phi-4-mini:Variants:cpu-int4:Files:0:Path"] = "genai_config.json",
        }).Build();

        var catalog = ModelCatalog.Create(configuration);

        var mine = catalog.Get("MY-MODEL");
        Assert.Equal("my-model", mine.Id);
        Assert.Equal(4096, mine.ContextLength);
        var variant = mine.Variants["cpu-int4"];
        Assert.Equal("cpu-int4", variant.Name);
        Assert.Equal("cpu", variant.ExecutionProvider);
        Assert.Equal(["genai_config.json", "model.onnx"], variant.Files.Select(f => f.Path));
        Assert.Equal("ab", variant.Files[1].Sha256);
        Assert.Equal("mirror/phi-4-mini", catalog.Get("phi-4-mini").Repository);
        Assert.Contains("phi-3.5-mini", catalog.Ids);
    }

    [Theory]
    [InlineData("Repository", "not-a-repo", "Repository")]
    [InlineData("Variants:cpu:Files:0:Path", "model.onnx", "genai_config.json")]
    [InlineData("Variants:cpu:Files:0:Path", "../../etc/passwd", "relative")]
    public void Create_InvalidConfiguredEntry_ThrowsNamingTheKey(string key, string value, string expected)
    {
        var values = new Dictionary<string, string?>
        {
            ["LocalLlm:Catalog:bad:Repository"] = "me/bad",
            ["LocalLlm:Catalog:bad:Variants:cpu:Files:0:Path"] = "genai_config.json",
        };
        values[$"LocalLlm:Catalog:bad:{key}"] = value;

        var ex = Assert.Throws<ArgumentException>(() => ModelCatalog.Create(new ConfigurationBuilder().AddInMemoryCollection(values).Build()));

        Assert.Contains("LocalLlm:Catalog:bad", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_Cpu_ChoosesCpuBuild()
    {
        var v = ModelVariantSelector.Select(ModelCatalog.BuiltIn.Get("phi-3.5-mini"), new ModelSelection { MemoryBytes = 16_000_000_000 }, out string reason);

        Assert.Equal("cpu-int4", v.Name);
        Assert.Contains("int4", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_CudaWithRoom_PrefersFp16_ElseInt4()
    {
        var phi = ModelCatalog.BuiltIn.Get("phi-3.5-mini");

        Assert.Equal("cuda-fp16", ModelVariantSelector.Select(phi, new() { ExecutionProvider = "cuda", MemoryBytes = 24_000_000_000 }, out _).Name);
        Assert.Equal("cuda-int4", ModelVariantSelector.Select(phi, new() { ExecutionProvider = "cuda", MemoryBytes = 8_000_000_000 }, out _).Name);
        Assert.Equal("cuda-fp16", ModelVariantSelector.Select(phi, new() { ExecutionProvider = "CUDA" }, out _).Name); // VRAM unknown
    }

    [Fact]
    public void Select_CudaWithoutCudaBuild_FallsBackToCpuBuild()
    {
        var v = ModelVariantSelector.Select(ModelCatalog.BuiltIn.Get("qwen2.5-0.5b"), new() { ExecutionProvider = "cuda" }, out string reason);

        Assert.Equal("cpu-int4", v.Name);
        Assert.Contains("no CUDA build", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_NothingFits_ThrowsWithSizesAndOverride()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            ModelVariantSelector.Select(ModelCatalog.BuiltIn.Get("phi-4-mini"), new() { MemoryBytes = 2_000_000_000 }, out _));

        Assert.Contains("2.0 GB", ex.Message, StringComparison.Ordinal);
        Assert.Contains("phi-4-mini:cpu-int4", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_ExplicitVariant_WinsOverMemory_UnknownOneListsVariants()
    {
        var phi = ModelCatalog.BuiltIn.Get("phi-3.5-mini");

        Assert.Equal("cuda-fp16", ModelVariantSelector.Select(phi, new() { Variant = "cuda-fp16", MemoryBytes = 1 }, out _).Name);
        var ex = Assert.Throws<ArgumentException>(() => ModelVariantSelector.Select(phi, new() { Variant = "npu-int2" }, out _));
        Assert.Contains("cpu-int4, cuda-fp16, cuda-int4", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_Unset_FollowHuggingFaceEnvironmentConventions()
    {
        var options = new ModelDownloadOptions();
        var env = new Dictionary<string, string?>();
        string? Env(string name) => env.GetValueOrDefault(name);

        Assert.Equal(new Uri(ModelDownloadOptions.DefaultEndpoint), options.ResolveEndpoint(Env));
        Assert.EndsWith(Path.Combine(".cache", "huggingface", "hub"), options.ResolveCacheDirectory(Env), StringComparison.Ordinal);
        Assert.Null(options.ResolveToken(Env));

        env["HF_ENDPOINT"] = "http://127.0.0.1:5555/";
        env["HF_HOME"] = "/data/hf";
        env["HF_TOKEN"] = " hf_abc ";
        Assert.Equal(new Uri("http://127.0.0.1:5555"), options.ResolveEndpoint(Env));
        Assert.Equal(Path.GetFullPath("/data/hf/hub"), options.ResolveCacheDirectory(Env));
        Assert.Equal("hf_abc", options.ResolveToken(Env));

        env["HF_HUB_CACHE"] = "/data/hub-cache";
        Assert.Equal(Path.GetFullPath("/data/hub-cache"), options.ResolveCacheDirectory(Env));

        var set = new ModelDownloadOptions { Endpoint = new Uri("http://127.0.0.1:1"), CacheDirectory = "/x/cache", Token = "explicit" };
        Assert.Equal(new Uri("http://127.0.0.1:1"), set.ResolveEndpoint(Env));
        Assert.Equal(Path.GetFullPath("/x/cache"), set.ResolveCacheDirectory(Env));
        Assert.Equal("explicit", set.ResolveToken(Env));

        env["HF_ENDPOINT"] = "not a url";
        var ex = Assert.Throws<InvalidOperationException>(() => options.ResolveEndpoint(Env));
        Assert.Contains("HF_ENDPOINT", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddLocalLlmModels_BindsConfigurationAndResolvesThroughTheCatalog()
    {
        await using var hub = await FakeHub.StartAsync();
        using var cache = new TestSupport.TempDirectory("localllm-models-di");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LocalLlm:Download:Endpoint"] = hub.Endpoint.ToString(),
            ["LocalLlm:Download:CacheDirectory"] = cache.Path,
            ["LocalLlm:Download:MaxConcurrentFiles"] = "2",
            ["LocalLlm:Catalog:tiny:Repository"] = FakeHub.Repository,
            ["LocalLlm:Catalog:tiny:Variants:cpu-fp16:Folder"] = FakeHub.Folder,
            ["LocalLlm:Catalog:tiny:Variants:cpu-fp16:Precision"] = "fp16",
        }.Concat(FakeHub.FileNames.Select((f, i) =>
            KeyValuePair.Create($"LocalLlm:Catalog:tiny:Variants:cpu-fp16:Files:{i}:Path", (string?)f)))).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging();
        services.AddLocalLlmModels().AddLocalLlmModels();
        await using var provider = services.BuildServiceProvider(validateScopes: true);

        Assert.Equal(2, provider.GetRequiredService<IOptions<ModelDownloadOptions>>().Value.MaxConcurrentFiles);
        Assert.Equal(cache.Path, provider.GetRequiredService<ModelDownloader>().CacheDirectory);
        string folder = await provider.GetRequiredService<IModelResolver>().ResolveAsync("tiny");

        Assert.StartsWith(cache.Path, folder, StringComparison.Ordinal);
        Assert.True(ModelDownloader.IsComplete(folder));
        Assert.Equal(hub.TotalSize, hub.TotalBytesServed);
    }

    [Fact]
    public void NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>("services", () => ((IServiceCollection)null!).AddLocalLlmModels());
        Assert.Throws<ArgumentNullException>("httpClient", () => new ModelDownloader((HttpClient)null!));
        Assert.Throws<ArgumentNullException>("httpClientFactory", () => new ModelDownloader((IHttpClientFactory)null!));
        Assert.Throws<ArgumentNullException>("catalog", () => new ModelResolver(null!, new ModelDownloader(new HttpClient())));
        Assert.Throws<ArgumentNullException>("entries", () => new ModelCatalog(null!));
    }
}
