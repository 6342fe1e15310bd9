namespace LocalLlm.Bench.Suites;

/// <summary>CPU vs CUDA execution provider.</summary>
internal sealed class EpSuite : ISuite
{
    public string Name => "ep";

    public string Description => "CPU vs CUDA execution provider";

    public Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        string? reason = context.Machine.CudaUnavailableReason;
        var md = new StringBuilder();
        if (reason is not null)
        {
            md.AppendLine($"Skipped: {reason}. CPU numbers are in the other sections; no GPU claim can be checked on this machine.");
            context.Notes["ep"] = reason;
            context.Log("ep: skipped: " + reason);
        }
        else
        {
            md.AppendLine("CUDA looks present, but this bench only measures the CPU runtime it was built with; rebuild with -p:LocalLlmRuntime=cuda and compare runs.");
            context.Notes["ep"] = "CUDA present but not measured by this build";
        }
        return Task.FromResult(new SuiteResult("Execution provider: CPU vs CUDA", md.ToString(), []));
    }
}
