using LocalLlm.Bench.Generation;
using LocalLlm.Bench.Running;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm.Bench.Suites;

/// <summary>Runners for the LocalLlm chat client (and the templated raw loop it is compared with).</summary>
internal static class LocalLlmRunners
{
    public static IEnumerable<IGenerationRunner> Create(BenchContext context, BenchModel model, Model ortModel, Tokenizer tokenizer)
    {
        context.Notes["localllm"] = "The LocalLlm chat client is not on main yet; its columns are missing.";
        return [];
    }

    public static IEnumerable<(string Name, Func<IGenerationRunner> Create)> Concurrent(BenchContext context, BenchModel model)
    {
        context.Notes["concurrency"] = "The LocalLlm client (and its scheduler) is not on main yet: measured on raw generators only.";
        return [];
    }
}
