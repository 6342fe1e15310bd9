using System.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm;

/// <summary>
/// Beam search through ORT GenAI's own scorer (num_beams, length_penalty, early_stopping, num_return_sequences).
/// Non-streaming by nature: the best beam is only known at the end. The n best beams come back as n assistant
/// messages of one response. Runs on its own thread, checks cancellation per step, and aborts a long prefill
/// through the terminate flag, like <see cref="GenerationLoop"/>.
/// </summary>
internal sealed class BeamSearch(LocalModel model, int[] prompt, GenerationSettings settings, LocalLlmTelemetry telemetry, ILogger logger, string responseId)
{
    /// <summary>One returned beam: its output tokens (end token removed), text and why it ended.</summary>
    public sealed record Beam(int[] Tokens, string Text, ChatFinishReason Reason);

    public sealed record Result(IReadOnlyList<Beam> Beams, GenerationStats Stats);

    /// <exception cref="ArgumentException">The settings ask for something beam search cannot do; the message says what.</exception>
    public static void Validate(GenerationSettings settings, string paramName)
    {
        if (settings.Guidance is not null)
            throw new ArgumentException("Beam search cannot be combined with ResponseFormat JSON, regex or Lark grammars, or ToolMode Required (ORT GenAI guidance works with one sequence); remove WithNumBeams or the constraint.", paramName);
        if (settings.DoSample)
            throw new ArgumentException("Beam search is deterministic: remove Temperature/TopP/TopK (or set Temperature = 0) when using WithNumBeams.", paramName);
        if (settings.CandidateCount > settings.NumBeams)
            throw new ArgumentException($"WithCandidateCount({settings.CandidateCount}) with beam search returns the best beams, so it cannot exceed WithNumBeams({settings.NumBeams}).", paramName);
    }

    public Task<Result> RunAsync(CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Run(cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private Result Run(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        using var lease = model.Acquire();
        var eos = model.Info.EosTokenIds;
        int maxLength = (int)Math.Min(model.Info.ContextLength, (long)prompt.Length + settings.MaxOutputTokens);
        int returned = settings.CandidateCount;

        using var p = new GeneratorParams(model.NativeModel);
        p.SetSearchOption("max_length", maxLength);
        p.SetSearchOption("do_sample", false);
        p.SetSearchOption("num_beams", settings.NumBeams);
        p.SetSearchOption("num_return_sequences", returned);
        if (settings.LengthPenalty is { } lp) p.SetSearchOption("length_penalty", lp);
        if (settings.EarlyStopping is { } early) p.SetSearchOption("early_stopping", early);
        if (settings.RepetitionPenalty is { } rp) p.SetSearchOption("repetition_penalty", rp);
        if (settings.NoRepeatNgramSize is { } ngram) p.SetSearchOption("no_repeat_ngram_size", ngram);
        if (settings.MinOutputTokens is { } min) p.SetSearchOption("min_length", Math.Min(maxLength, prompt.Length + min));
        using var generator = RequestValidation.CreateGenerator(model, p, settings);

        telemetry.ActiveRequests.Add(1);
        var clock = Stopwatch.StartNew();
        int steps = 0;
        TimeSpan first = TimeSpan.Zero, last = TimeSpan.Zero, prefill;
        try
        {
            using (ct.Register(static g => ((Generator)g!).SetRuntimeOption("terminate_session", "1"), generator))
            {
                try { generator.AppendTokens(prompt); }
                catch (OnnxRuntimeGenAIException) when (ct.IsCancellationRequested) { ct.ThrowIfCancellationRequested(); }
            }
            prefill = clock.Elapsed;
            while (!generator.IsDone() && steps < settings.MaxOutputTokens)
            {
                ct.ThrowIfCancellationRequested();
                generator.GenerateNextToken();
                steps++;
                last = clock.Elapsed;
                if (steps == 1) first = last;
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
        }

        var beams = new List<Beam>(returned);
        for (int i = 0; i < returned; i++)
        {
            ReadOnlySpan<int> sequence = generator.GetSequence((ulong)i);
            int[] output = sequence.Length > prompt.Length ? sequence[prompt.Length..].ToArray() : [];
            // Finished hypotheses are stored without their end token; only beams cut by the length limit fill it.
            int end = Array.FindIndex(output, eos.Contains);
            if (end >= 0) output = output[..end];
            var reason = end >= 0 || (output.Length < settings.MaxOutputTokens && sequence.Length < maxLength) ? ChatFinishReason.Stop : ChatFinishReason.Length;
            string text = model.Decode(output);
            if (FirstStop(text, settings.StopSequences) is int cut)
            {
                text = text[..cut];
                reason = ChatFinishReason.Stop;
            }
            beams.Add(new Beam(output, text, reason));
        }

        var stats = new GenerationStats
        {
            PromptTokens = prompt.Length,
            OutputTokens = steps,
            TimeToFirstToken = first,
            DecodeTime = last - first,
            PrefillTokensPerSecond = prefill > TimeSpan.Zero ? prompt.Length / prefill.TotalSeconds : 0,
            DecodeTokensPerSecond = steps > 1 && last > first ? (steps - 1) / (last - first).TotalSeconds : 0,
        };
        telemetry.PromptTokens.Add(stats.PromptTokens);
        telemetry.OutputTokens.Add((long)steps * settings.NumBeams);
        Log.RequestFinished(logger, responseId, beams[0].Reason.Value, prompt.Length, steps, stats.TimeToFirstToken.TotalMilliseconds, stats.DecodeTokensPerSecond);
        return new Result(beams, stats);
    }

    private static int? FirstStop(string text, IReadOnlyList<string> stops)
    {
        int? best = null;
        foreach (string stop in stops)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (best is null || at < best)) best = at;
        }
        return best;
    }
}
