using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm;

/// <summary>
/// The one mapping from a request's <see cref="GenerationSettings"/> to ORT GenAI search options, for every generator
/// (one request, beams, a batch of candidates). The batching engine's per-turn options are the same fields through
/// its own API (<see cref="BatchingEngine"/>). Options are fixed for a generator's lifetime (hence <see cref="GeneratorKey"/>).
/// </summary>
internal static class SearchOptions
{
    public static void Apply(GeneratorParams p, GenerationSettings s, int maxLength, int promptLength)
    {
        p.SetSearchOption("max_length", maxLength);
        p.SetSearchOption("do_sample", s.DoSample);
        if (s.DoSample)
        {
            p.SetSearchOption("temperature", s.Temperature ?? 1.0);
            if (s.TopP is { } topP) p.SetSearchOption("top_p", topP);
            if (s.TopK is { } topK) p.SetSearchOption("top_k", topK);
        }
        if (s.Seed is { } seed) p.SetSearchOption("random_seed", seed);
        if (s.RepetitionPenalty is { } rp) p.SetSearchOption("repetition_penalty", rp);
        if (s.NoRepeatNgramSize is { } ngram) p.SetSearchOption("no_repeat_ngram_size", ngram);
        if (s.MinOutputTokens is { } min) p.SetSearchOption("min_length", Math.Min(maxLength, promptLength + min));
        if (s.NumBeams > 1)
        {
            // Beam search: ORT GenAI's scorer returns the CandidateCount best beams.
            p.SetSearchOption("num_beams", s.NumBeams);
            p.SetSearchOption("num_return_sequences", s.CandidateCount);
            if (s.LengthPenalty is { } lp) p.SetSearchOption("length_penalty", lp);
            if (s.EarlyStopping is { } early) p.SetSearchOption("early_stopping", early);
        }
        else if (s.CandidateCount > 1)
        {
            p.SetSearchOption("batch_size", s.CandidateCount); // sampled candidates: one row per candidate
        }
        if (s.Guidance is { } g) p.SetGuidance(g.Type, g.Data, false);
    }
}
