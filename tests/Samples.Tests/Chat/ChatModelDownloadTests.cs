using LocalLlm.Tests.Models;

namespace LocalLlm.Samples.Tests.Chat;

/// <summary><c>--model &lt;id&gt;</c> in the console sample: a catalog entry from environment variables pointing at a local fake hub.</summary>
public sealed class ChatModelDownloadTests
{
    private const string Id = "tiny";

    [Fact]
    public async Task ModelCatalogId_DownloadsShowsProgressThenAnswers()
    {
        await using var hub = await FakeHub.StartAsync();
        using var cache = new TempDirectory("localllm-chat-download");
        var env = hub.CatalogSettings(Id, cache.Path, separator: "__").ToDictionary(kv => kv.Key, kv => kv.Value!);
        int files = FakeHub.FileNames.Length;

        var run = await ChatSampleTests.RunChatAsync(["--model", Id, "--ep", "cpu", "--max-tokens", "4"], "Hello there\n", env);

        Assert.True(run.ExitCode == 0, run.Output + run.Error);
        Assert.Equal(hub.TotalSize, hub.TotalBytesServed);
        Assert.Contains($"Downloading {Id} ...", run.Output, StringComparison.Ordinal);
        Assert.Contains($"downloaded {files}/{files} files", run.Output, StringComparison.Ordinal);
        Assert.Contains("Loading ", run.Output, StringComparison.Ordinal);
        Assert.Contains("model> ", run.Output, StringComparison.Ordinal);
        Assert.Matches(@"· 4 tokens \(prompt \d+\) · stopped at --max-tokens", run.Output);
    }

    [Fact]
    public async Task UnknownModelId_ExitsOneListingKnownIds()
    {
        var run = await ChatSampleTests.RunChatAsync(["--model", "gpt-17-ultra"], "hi\n");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("'gpt-17-ultra' is neither a model folder", run.Error, StringComparison.Ordinal);
        Assert.Contains("phi-3.5-mini", run.Error, StringComparison.Ordinal);
    }
}
