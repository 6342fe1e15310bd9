using LocalLlm.ModelForge;

namespace LocalLlm.Samples.Tests.Chat;

/// <summary>The console sample as a user runs it: the built dll, a child process, piped stdin.</summary>
public sealed class ChatSampleTests
{
    [Fact]
    public async Task PipedQuestion_DemoModel_PrintsDesignedAnswerAndStats()
    {
        const string question = "Please repeat: the quick brown fox jumps over the lazy dog, twice, then rests a while.";
        var run = await RunChatAsync([], question + "\n");

        Assert.Equal(0, run.ExitCode);
        string expected = ExpectedDemoAnswer(question);
        Assert.Contains("model> " + expected + "\n", run.Output, StringComparison.Ordinal);
        Assert.Matches(@"time to first token \d+ ms · [\d.]+ tok/s · 65 tokens \(prompt \d+\)", run.Output);
        Assert.Contains("tiny network designed by ModelForge", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", run.Output, StringComparison.Ordinal); // plain output when redirected
    }

    [Fact]
    public async Task EmptyStdin_RunsDemoExchangeAndExitsZero()
    {
        var run = await RunChatAsync([], "");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("No input: running a short demo exchange", run.Output, StringComparison.Ordinal);
        Assert.Contains("model> Answers stream token by token from a local model on your laptop.\n", run.Output, StringComparison.Ordinal);
        Assert.Contains("decode rate (all answers)", run.Output, StringComparison.Ordinal); // /stats ran
    }

    [Fact]
    public async Task Commands_ResetSystemHelp_Work()
    {
        var run = await RunChatAsync(["--max-tokens", "8"], "/help\n/system Be brief.\nHello there, this is a message long enough for the window.\n/reset\n/bogus\n");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("/system <text>", run.Output, StringComparison.Ordinal);
        Assert.Contains("System prompt set.", run.Output, StringComparison.Ordinal);
        Assert.Contains("stopped at --max-tokens", run.Output, StringComparison.Ordinal);
        Assert.Contains("Conversation cleared", run.Output, StringComparison.Ordinal);
        Assert.Contains("Unknown command /bogus", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadFlagsOrFolder_ExitNonZeroWithMessage()
    {
        var badFlag = await RunChatAsync(["--top-p", "2"], "");
        Assert.NotEqual(0, badFlag.ExitCode);
        Assert.Contains("--top-p must be in (0, 1]", badFlag.Error, StringComparison.Ordinal);

        using var empty = new TempDirectory();
        var badFolder = await RunChatAsync(["--model", empty.Path], "hi\n");
        Assert.Equal(1, badFolder.ExitCode);
        Assert.Contains("genai_config.json", badFolder.Error, StringComparison.Ordinal);
    }

    /// <summary>The demo model repeats the last 64 tokens of the message: computed from the rendered prompt.</summary>
    internal static string ExpectedDemoAnswer(string question, string? system = DemoModel.SystemPrompt)
    {
        string prompt = (system is null ? "" : $"<|im_start|>system\n{system}<|im_end|>\n") + $"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n";
        return ByteTokenizer.Decode(CopyDesign.ExpectedReply(ByteTokenizer.Encode(prompt), 256, DemoModel.Options.Lag));
    }

    internal static Task<ChildProcess.Run> RunChatAsync(string[] args, string stdin, IReadOnlyDictionary<string, string>? environment = null) =>
        RunDllAsync(SampleDll("Chat", "LocalLlm.Samples.Chat.dll"), args, stdin, environment);

    /// <summary>Runs a built sample as a child process with redirected stdin, stdout and stderr.</summary>
    internal static Task<ChildProcess.Run> RunDllAsync(string dll, string[] args, string stdin, IReadOnlyDictionary<string, string>? environment = null) =>
        ChildProcess.DotnetAsync([dll, .. args], TimeSpan.FromSeconds(60), stdin, environment: environment);

    /// <summary>A sample's built dll, in the same configuration as this test assembly (bin/&lt;config&gt;/&lt;tfm&gt;/).</summary>
    internal static string SampleDll(string sample, string dllName)
    {
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string configuration = testDir.Parent!.Name;
        string path = Path.Combine(RepoPaths.Root, "samples", sample, "bin", configuration, testDir.Name, dllName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} is missing: build the sample first (dotnet build tests/Samples.Tests -c {configuration} builds it).", path);
        return path;
    }
}
