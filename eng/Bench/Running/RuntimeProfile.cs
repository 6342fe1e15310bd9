using LocalLlm.Memory;

namespace LocalLlm.Bench.Running;

/// <summary>The runtime overhead the planner should assume for a bench model (CPU execution provider).</summary>
internal static class RuntimeProfile
{
    public static RuntimeOverhead For(BenchModel model) =>
        RuntimeOverhead.ForCpu(model.Shape?.Precision ?? NumberFormat.Fp32, model.AccuracyLevel);
}
