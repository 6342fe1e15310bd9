using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm;

/// <summary>
/// n sampled answers in one generator: the prompt is appended n times as a batch (ORT GenAI <c>batch_size</c>), so
/// every step runs the n rows through the model at once instead of n requests one after another. Rows end on their
/// own (end token, stop string or length); the batch ends when all have. One random stream serves all rows, so a
/// seeded request is reproducible as a whole. Plain text and at most <see cref="MaxBatch"/> rows only: grammars,
/// tools, log-probabilities and larger counts take the one-request-per-candidate path.
/// </summary>
internal sealed class SampledCandidates(LocalModel model, int[] prompt, GenerationSettings settings, ModelTelemetry telemetry, ILogger logger, string responseId)
{
    public sealed record Candidate(string Text, ChatFinishReason Reason, int OutputTokens);

    public sealed record Result(IReadOnlyList<Candidate> Candidates, GenerationStats Stats);

    /// <summary>ORT GenAI 0.18 rejects a larger batch_size ("batch_size (400) must be in [1, 32]").</summary>
    public const int MaxBatch = 32;

    /// <summary>True when the request can run as one batch.</summary>
    public static bool Applies(GenerationSettings settings, ChatOptions? options) =>
        settings.CandidateCount is > 1 and <= MaxBatch && settings.NumBeams == 1 && settings.Guidance is null && !settings.LogProbabilities
        && options?.Tools is not { Count: > 0 };

    public Task<Result> RunAsync(CancellationToken cancellationToken) => GenerationThreads.Run(() => Run(cancellationToken));

    private Result Run(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        using var lease = model.Acquire();
        int n = settings.CandidateCount;
        var eos = model.Info.EosTokenIds;
        int maxLength = (int)Math.Min(model.Info.ContextLength, (long)prompt.Length + settings.MaxOutputTokens);

        using var p = new GeneratorParams(model.NativeModel);
        SearchOptions.Apply(p, settings, maxLength, prompt.Length); // batch_size n; no guidance here: Applies() excludes it
        using var generator = RequestValidation.CreateGenerator(model, p, settings);

        var streams = new TokenizerStream[n];
        var filters = new OutputFilter[n]; // the same stop matching as a streamed answer (no tools or JSON here)
        var reasons = new ChatFinishReason?[n];
        var counts = new int[n];
        for (int i = 0; i < n; i++) { streams[i] = model.CreateTokenizerStream(); filters[i] = new OutputFilter(settings.StopSequences, jsonOutput: false, toolsEnabled: false); }
        telemetry.ActiveRequests.Add(1);
        var loop = new TokenLoop(generator, ct);
        int open = n;
        try
        {
            // n copies of the prompt, row after row, in one append: a batch cannot be prefilled in chunks (Prefill.Whole).
            int[] rows = new int[n * prompt.Length];
            for (int i = 0; i < n; i++) prompt.CopyTo(rows, i * prompt.Length);
            loop.Prefill(rows, Prefill.Whole);
            while (open > 0 && loop.Step(settings.MaxOutputTokens))
            {
                ReadOnlySpan<int> next = loop.Next;
                for (int i = 0; i < n; i++)
                {
                    if (reasons[i] is not null) continue;
                    counts[i]++;
                    if (eos.Contains(next[i])) { reasons[i] = ChatFinishReason.Stop; open--; continue; }
                    filters[i].Append(streams[i].Decode(next[i]));
                    if (filters[i].Stopped) { reasons[i] = ChatFinishReason.Stop; open--; }
                }
            }
        }
        catch (OperationCanceledException)
        {
            Log.RequestCancelled(logger, responseId, loop.Steps);
            throw;
        }
        finally
        {
            telemetry.ActiveRequests.Add(-1);
            foreach (var s in streams) s?.Dispose();
        }

        foreach (var f in filters) f.Finish();
        var candidates = Enumerable.Range(0, n).Select(i => new Candidate(filters[i].Emitted.ToString(), reasons[i] ?? ChatFinishReason.Length, counts[i])).ToList();
        int output = counts.Sum();
        var stats = loop.Stats(prompt.Length * n, 0, output, n);
        Usage.Record(telemetry, stats);
        Log.RequestFinished(logger, responseId, candidates[0].Reason.Value, stats.PromptTokens, output, stats.TimeToFirstToken.TotalMilliseconds, stats.DecodeTokensPerSecond);
        return new Result(candidates, stats);
    }
}
