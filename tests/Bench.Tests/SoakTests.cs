namespace LocalLlm.Bench.Tests;

/// <summary>Memory must level off under distinct requests through AddLocalLlm defaults (the soak suite, small).</summary>
public sealed class SoakTests
{
    [Fact]
    public async Task Soak_DistinctRequestsOnTheDemoModel_MemoryLevelsOff()
    {
        (int exit, string output, string error) = await BenchProcess.RunAsync(TimeSpan.FromMinutes(3), "soak", "--model", "demo", "--requests", "800", "--checkpoint", "200");
        Assert.True(exit == 0, $"bench soak exited {exit}: {output}\n{error}");
        string json = output.Split('\n').Single(l => l.StartsWith("BENCH-SOAK-RESULT ", StringComparison.Ordinal))["BENCH-SOAK-RESULT ".Length..];
        using var result = System.Text.Json.JsonDocument.Parse(json);
        long checkpoint = result.RootElement.GetProperty("CheckpointRss").GetInt64(), final = result.RootElement.GetProperty("FinalRss").GetInt64();
        long generators = result.RootElement.GetProperty("CachedGenerators").GetInt64();
        // The default MaxCachedGenerators (64) binds long before the checkpoint. Unbounded, each of the 600 requests after
        // it kept ~0.3 MiB (about +100 % here); allocator noise stays well under the ratio.
        Assert.Equal(64, generators);
        Assert.True(final < checkpoint * 1.2, $"RSS grew from {checkpoint >> 20} MiB after 200 requests to {final >> 20} MiB after 800: {output}");
    }
}
