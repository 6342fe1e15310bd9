namespace LocalLlm.Bench.Generation;

/// <summary>One timed generation: prompt in, tokens out.</summary>
/// <param name="PromptTokens">Tokens prefilled.</param>
/// <param name="OutputTokens">Tokens generated (per sequence).</param>
/// <param name="TtftMs">Call start to first token (tokenizing, prefill, first step).</param>
/// <param name="DecodeMs">First token to last token.</param>
internal sealed record GenerationSample(int PromptTokens, int OutputTokens, double TtftMs, double DecodeMs)
{
    public double DecodeTokensPerSecond => OutputTokens > 1 ? (OutputTokens - 1) / DecodeMs * 1000 : double.NaN;

    public double PrefillTokensPerSecond => PromptTokens / TtftMs * 1000;

    public double PerTokenMs => OutputTokens > 1 ? DecodeMs / (OutputTokens - 1) : double.NaN;

    public double TotalMs => TtftMs + DecodeMs;
}

/// <summary>ORT GenAI search options for one decoding strategy.</summary>
/// <param name="Batch">Independent sequences decoded together from copies of the prompt (n candidates).</param>
internal sealed record SearchSettings(string Name, bool DoSample = false, int NumBeams = 1, int NumReturnSequences = 1,
    double Temperature = 1.0, int TopK = 0, double TopP = 0, int Batch = 1)
{
    public static SearchSettings Greedy { get; } = new("greedy");

    public void Apply(Microsoft.ML.OnnxRuntimeGenAI.GeneratorParams p)
    {
        p.SetSearchOption("do_sample", DoSample);
        if (Batch > 1)
            p.SetSearchOption("batch_size", Batch);
        if (NumBeams > 1)
        {
            p.SetSearchOption("num_beams", NumBeams);
            p.SetSearchOption("early_stopping", false);
        }
        if (NumReturnSequences > 1)
            p.SetSearchOption("num_return_sequences", NumReturnSequences);
        if (DoSample)
        {
            p.SetSearchOption("temperature", Temperature);
            p.SetSearchOption("random_seed", 42);
            if (TopK > 0)
                p.SetSearchOption("top_k", TopK);
            if (TopP > 0)
                p.SetSearchOption("top_p", TopP);
        }
    }
}
