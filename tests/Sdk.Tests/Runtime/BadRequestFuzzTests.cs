using LocalLlm.ModelForge;

namespace LocalLlm.Tests.Runtime;

/// <summary>
/// 1,200 seeded bad requests (tests/BadInputProbe/BadRequests.cs) against one client in a child process: every one ends
/// in a result or an exception a caller can act on (ArgumentException naming the option, NotSupportedException,
/// PromptLengthException, StructuredOutputException); no native crash (the child would die by a signal), no hang (30 s
/// per case, 240 s for the run), no other exception. A failure prints the seed and case index; rerun one case with
/// <c>dotnet tests/BadInputProbe/bin/Release/net10.0/LocalLlm.BadInputProbe.dll fuzz &lt;folder&gt; &lt;seed&gt; &lt;index&gt; 1</c>.
/// </summary>
public sealed class BadRequestFuzzTests
{
    /// <summary>Fixed so CI is reproducible; set LOCALLLM_FUZZ_SEED to explore other cases.</summary>
    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("LOCALLLM_FUZZ_SEED"), out int s) ? s : 20261203;

    [Fact]
    public async Task Fuzz_1200SeededBadRequests_NoCrashNoHangOnlyClearExceptions()
    {
        const int count = 1200;
        // A 512-token context: max_tokens int.MaxValue is clamped to the context, and the 30-second limit must tell a hang
        // from honest work. With 2,048, four beams to the limit are about a minute of ORT GenAI's beam search (its per-step
        // cost grows with max_length), which is slow, not stuck.
        string folder = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Lag = 13 + 8, ContextLength = 512 });

        string output = await BadModelFolderTests.RunProbeAsync("fuzz", folder, Seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "0", count.ToString(System.Globalization.CultureInfo.InvariantCulture));

        string[] lines = output.Split('\n');
        var unexpected = lines.Where(l => l.Contains("UNEXPECTED", StringComparison.Ordinal)).ToList();
        Assert.True(unexpected.Count == 0, $"seed {Seed}: {unexpected.Count} unexpected outcomes:\n{string.Join('\n', unexpected.Take(20))}");
        Assert.True(lines[^1] == $"fuzz done: {count} cases, 0 unexpected", $"seed {Seed}: the run did not finish; last lines:\n{string.Join('\n', lines.TakeLast(3))}");
        Assert.Equal(count, lines.Count(l => l.StartsWith("case ", StringComparison.Ordinal)));
        // The corpus reaches both sides: most cases are refused, and some valid-but-odd requests are answered.
        Assert.True(lines.Count(l => l.Contains(": caught Argument", StringComparison.Ordinal)) > count / 2);
        Assert.True(lines.Count(l => l.Contains(": ok ", StringComparison.Ordinal)) > count / 10);
    }
}
