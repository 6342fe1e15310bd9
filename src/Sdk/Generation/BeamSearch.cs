using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm;

/// <summary>
/// Beam search through ORT GenAI's own scorer (num_beams, length_penalty, early_stopping, num_return_sequences).
/// Non-streaming by nature: the best beam is only known at the end. The n best beams come back as n assistant
/// messages of one response. Runs on its own thread through the <see cref="TokenLoop"/>, like every generator.
/// </summary>
internal sealed class BeamSearch(LocalModel model, int[] prompt, GenerationSettings settings, ModelTelemetry telemetry, ILogger logger, string responseId)
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

    public Task<Result> RunAsync(CancellationToken cancellationToken) => GenerationThreads.Run(() => Run(cancellationToken));

    private Result Run(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        using var lease = model.Acquire();
        var eos = model.Info.EosTokenIds;
        int maxLength = (int)Math.Min(model.Info.ContextLength, (long)prompt.Length + settings.MaxOutputTokens);
        int returned = settings.CandidateCount;

        using var p = new GeneratorParams(model.NativeModel);
        SearchOptions.Apply(p, settings, maxLength, prompt.Length); // Validate() made it greedy, without guidance
        using var generator = RequestValidation.CreateGenerator(model, p, settings);

        telemetry.ActiveRequests.Add(1);
        var loop = new TokenLoop(generator, ct);
        try
        {
            loop.Prefill(prompt, Prefill.Whole); // beams cannot be prefilled in chunks (Prefill.Whole)
            while (loop.Step(settings.MaxOutputTokens)) { } // the beams are read once the scorer is done
        }
        catch (OperationCanceledException)
        {
            Log.RequestCancelled(logger, responseId, loop.Steps);
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
            if (OutputFilter.FirstStop(text, settings.StopSequences) is int cut and >= 0)
            {
                text = text[..cut];
                reason = ChatFinishReason.Stop;
            }
            beams.Add(new Beam(output, text, reason));
        }

        var stats = loop.Stats(prompt.Length, 0, loop.Steps, 1);
        Usage.Record(telemetry, stats, (long)loop.Steps * settings.NumBeams);
        Log.RequestFinished(logger, responseId, beams[0].Reason.Value, prompt.Length, loop.Steps, stats.TimeToFirstToken.TotalMilliseconds, stats.DecodeTokensPerSecond);
        return new Result(beams, stats);
    }
}
