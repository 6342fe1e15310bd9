using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LocalLlm.Embeddings.Tests;

public sealed class AddLocalLlmEmbeddingsTests
{
    [Fact]
    public void AddLocalLlmEmbeddings_NullServices_Throws() =>
        Assert.Throws<ArgumentNullException>("services", () => ((IServiceCollection)null!).AddLocalLlmEmbeddings());

    [Fact]
    public async Task AddLocalLlmEmbeddings_Default_ResolvesTheBuiltInGenerator()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddLocalLlmEmbeddings(o => o.MaxTokens = 128);
        await using var sp = services.BuildServiceProvider();
        var generator = sp.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
        var r = await generator.GenerateAsync(["hello world"]);
        Assert.Equal(384, r[0].Vector.Length);
        Assert.Equal(128, generator.GetService<LocalEmbeddingGenerator>()!.MaxTokens);
    }

    [Fact]
    public async Task Start_BadModelPath_FailsWithTheKeyAndTheFix()
    {
        var builder = Host.CreateEmptyApplicationBuilder(null);
        builder.Configuration.AddInMemoryCollection([new("LocalLlm:Embeddings:ModelPath", "/no/such/encoder")]);
        builder.Services.AddLocalLlmEmbeddings();
        using var host = builder.Build();
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("LocalLlm:Embeddings:ModelPath '/no/such/encoder' does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_OutOfRangeOption_Fails()
    {
        var builder = Host.CreateEmptyApplicationBuilder(null);
        builder.Services.AddLocalLlmEmbeddings(o => o.BatchSize = 0);
        using var host = builder.Build();
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("BatchSize", e.Message, StringComparison.Ordinal);
    }
}
