using System.Diagnostics;

namespace LocalLlm.Bench.Tests;

/// <summary>Runs the bench executable (copied beside the tests by the project reference) and captures its output.</summary>
internal static class BenchProcess
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "LocalLlm.Bench.dll");

    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll);
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bench {string.Join(' ', args)} did not finish in {timeout}: {await stdout}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}
