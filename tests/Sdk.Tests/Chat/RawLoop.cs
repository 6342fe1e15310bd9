using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm.Tests.Chat;

/// <summary>The reference: a plain ORT GenAI greedy loop, as the library's own samples write it.</summary>
internal static class RawLoop
{
    public static int[] Greedy(Model model, int[] prompt, int newTokens)
    {
        using var p = new GeneratorParams(model);
        p.SetSearchOption("max_length", prompt.Length + newTokens);
        p.SetSearchOption("do_sample", false);
        using var g = new Generator(model, p);
        g.AppendTokens(prompt);
        var output = new List<int>();
        while (!g.IsDone())
        {
            g.GenerateNextToken();
            output.Add(g.GetNextTokens()[0]);
        }
        return [.. output];
    }
}
