namespace LocalLlm.Bench.Tests;

/// <summary>Runs the bench executable (copied beside the tests by the project reference) and captures its output.</summary>
internal static class BenchProcess
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "LocalLlm.Bench.dll");

    public static Task<ChildProcess.Run> RunAsync(TimeSpan timeout, params string[] args) => ChildProcess.DotnetAsync([Dll, .. args], timeout);
}
