using System.Diagnostics;
using System.Text;
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
internal sealed class SampledCandidates(LocalModel model, string promptText, int[] prompt, GenerationSettings settings, LocalLlmTelemetry telemetry, ILogger logger, string responseId)
{
    public sealed record Candidate(string Text, ChatFinishReason Reason, int OutputTokens);

    public sealed record Result(IReadOnlyList<Candidate> Candidates, GenerationStats Stats);

    /// <summary>ORT GenAI 0.18 rejects a larger batch_size ("batch_size (400) must be in [1, 32]").</summary>
    public const int MaxBatch = 32;

    /// <summary>True when the request can run as one batch.</summary>
    public static bool Applies(GenerationSettings settings, ChatOptions? options) =>
        settings.CandidateCount is > 1 and <= MaxBatch && settings.NumBeams == 1 && settings.Guidance is null && !settings.LogProbabilities
        && options?.Tools is not { Count: > 0 };

    public Task<Result> RunAsync(CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Run(cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private Result Run(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        using var lease = model.Acquire();
        int n = settings.CandidateCount;
        var eos = model.Info.EosTokenIds;
        int maxLength = (int)Math.Min(model.Info.ContextLength, (long)prompt.Length + settings.MaxOutputTokens);

        using var sequences = model.NativeTokenizer.EncodeBatch(Enumerable.Repeat(promptText, n).ToArray());
        if (!sequences[0].SequenceEqual(prompt))
            throw new InvalidOperationException("The prompt did not re-encode to the same tokens for the candidate batch; this is a bug, please report it.");
        using var p = new GeneratorParams(model.NativeModel);
        p.SetSearchOption("batch_size", n);
        GenerationLoop.Apply(p, settings, maxLength, prompt.Length); // no guidance here: Applies() excludes it
        using var generator = RequestValidation.CreateGenerator(model, p, settings);

        var streams = new TokenizerStream[n];
        var texts = new StringBuilder[n];
        var reasons = new ChatFinishReason?[n];
        var counts = new int[n];
        for (int i = 0; i < n; i++) { streams[i] = model.CreateTokenizerStream(); texts[i] = new StringBuilder(); }
        telemetry.ActiveRequests.Add(1);
        var clock = Stopwatch.StartNew();
        int steps = 0, open = n;
        TimeSpan first = TimeSpan.Zero, last = TimeSpan.Zero, prefill;
        try
        {
            using (ct.Register(static g => ((Generator)g!).SetRuntimeOption("terminate_session", "1"), generator))
            {
                try { generator.AppendTokenSequences(sequences); }
                catch (OnnxRuntimeGenAIException) when (ct.IsCancellationRequested) { ct.ThrowIfCancellationRequested(); }
            }
            prefill = clock.Elapsed;
            while (open > 0 && !generator.IsDone() && steps < settings.MaxOutputTokens)
            {
                ct.ThrowIfCancellationRequested();
                generator.GenerateNextToken();
                ReadOnlySpan<int> next = generator.GetNextTokens();
                steps++;
                last = clock.Elapsed;
                if (steps == 1) first = last;
                for (int i = 0; i < n; i++)
                {
                    if (reasons[i] is not null) continue;
                    counts[i]++;
                    if (eos.Contains(next[i])) { reasons[i] = ChatFinishReason.Stop; open--; continue; }
                    texts[i].Append(streams[i].Decode(next[i]));
                    if (CutAtStop(texts[i], settings.StopSequences)) { reasons[i] = ChatFinishReason.Stop; open--; }
                }
            }
        }
        catch (OperationCanceledException)
        {
            Log.RequestCancelled(logger, responseId, steps);
            throw;
        }
        finally
        {
            telemetry.ActiveRequests.Add(-1);
            foreach (var s in streams) s?.Dispose();
        }

        var candidates = Enumerable.Range(0, n).Select(i => new Candidate(texts[i].ToString(), reasons[i] ?? ChatFinishReason.Length, counts[i])).ToList();
        int output = counts.Sum();
        var stats = new GenerationStats
        {
            PromptTokens = prompt.Length * n,
            OutputTokens = output,
            TimeToFirstToken = first,
            DecodeTime = last - first,
            PrefillTokensPerSecond = prefill > TimeSpan.Zero ? prompt.Length * n / prefill.TotalSeconds : 0,
            DecodeTokensPerSecond = steps > 1 && last > first ? (output - n) / (last - first).TotalSeconds : 0,
        };
        telemetry.PromptTokens.Add(stats.PromptTokens);
        telemetry.OutputTokens.Add(output);
        Log.RequestFinished(logger, responseId, candidates[0].Reason.Value, stats.PromptTokens, output, first.TotalMilliseconds, stats.DecodeTokensPerSecond);
        return new Result(candidates, stats);
    }

    /// <summary>Cuts the text at the first stop string, if one is in it.</summary>
    private static bool CutAtStop(StringBuilder text, IReadOnlyList<string> stops)
    {
        if (stops.Count == 0) return false;
        string s = text.ToString();
        int best = -1;
        foreach (string stop in stops)
        {
            int at = s.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (best < 0 || at < best)) best = at;
        }
        if (best < 0) return false;
        text.Length = best;
        return true;
    }
}
