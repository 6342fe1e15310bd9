using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm.TestSupport;

/// <summary>The reference: a plain ORT GenAI greedy loop, as the library's own samples write it.</summary>
internal static class RawLoop
{
    /// <summary>Greedy decoding through the raw Generator, stopping at eos or after <paramref name="newTokens"/>; with
    /// <paramref name="adapters"/>, the adapter <paramref name="adapter"/> is active.</summary>
    public static int[] Greedy(Model model, int[] prompt, int newTokens, Adapters? adapters = null, string? adapter = null)
    {
        using var p = new GeneratorParams(model);
        p.SetSearchOption("max_length", prompt.Length + newTokens);
        p.SetSearchOption("do_sample", false);
        using var g = new Generator(model, p);
        if (adapters is not null) g.SetActiveAdapter(adapters, adapter);
        g.AppendTokens(prompt);
        var output = new List<int>();
        while (!g.IsDone() && output.Count < newTokens)
        {
            g.GenerateNextToken();
            output.Add(g.GetNextTokens()[0]);
        }
        return [.. output];
    }
}
