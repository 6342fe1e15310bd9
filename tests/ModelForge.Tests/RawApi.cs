using LocalLlm.TestSupport;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm.ModelForge.Tests;

/// <summary>Raw ONNX Runtime GenAI helpers shared by the forge tests.</summary>
internal static class RawApi
{
    /// <summary>Greedy decoding through the raw Generator, stopping at eos or after <paramref name="newTokens"/>.</summary>
    public static int[] Greedy(Model model, int[] prompt, int newTokens)
    {
        using var p = new GeneratorParams(model);
        p.SetSearchOption("max_length", prompt.Length + newTokens);
        p.SetSearchOption("do_sample", false);
        using var g = new Generator(model, p);
        g.AppendTokens(prompt);
        var output = new List<int>();
        while (!g.IsDone() && output.Count < newTokens)
        {
            g.GenerateNextToken();
            output.Add(g.GetNextTokens()[0]);
        }
        return [.. output];
    }

    public static string Forge(TempDirectory temp, ForgeOptions options, string? name = null)
    {
        string folder = Path.Combine(temp.Path, name ?? "model");
        LocalLlm.ModelForge.Forge.Write(options, folder);
        return folder;
    }
}
