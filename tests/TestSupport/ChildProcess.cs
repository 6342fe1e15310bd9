using System.Diagnostics;

namespace LocalLlm.TestSupport;

/// <summary>
/// Runs <c>dotnet</c> (a built app, a probe, or an SDK command) as a child process and collects its output; a child that
/// outlives its timeout is killed, so a hang fails the test instead of stalling the run.
/// </summary>
internal static class ChildProcess
{
    internal sealed record Run(int ExitCode, string Output, string Error)
    {
        /// <summary>Standard output and error together, for failure messages and checks on either.</summary>
        public string All => Output + Error;
    }

    /// <param name="args">Arguments after <c>dotnet</c>.</param>
    /// <param name="timeout">Killed (with its children) and a <see cref="TimeoutException"/> after this long.</param>
    /// <param name="stdin">Written to standard input, which is then closed.</param>
    /// <param name="workingDirectory">null = the current directory.</param>
    /// <param name="environment">Variables to set for the child.</param>
    public static async Task<Run> DotnetAsync(IEnumerable<string> args, TimeSpan timeout, string stdin = "",
        string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (string a in args) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        using var cancel = new CancellationTokenSource(timeout);
        var output = process.StandardOutput.ReadToEndAsync(cancel.Token);
        var error = process.StandardError.ReadToEndAsync(cancel.Token);
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', start.ArgumentList)} did not exit within {timeout}. Output so far: {(output.IsCompletedSuccessfully ? output.Result : "")}");
        }
        return new Run(process.ExitCode, (await output).ReplaceLineEndings("\n"), (await error).ReplaceLineEndings("\n"));
    }
}
