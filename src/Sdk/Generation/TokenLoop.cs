using System.Diagnostics;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm;

/// <summary>
/// The one token loop for every generator the client creates (one request, beams, sampled candidates): prefill
/// through <see cref="LocalLlm.Prefill"/> (chunked and interruptible), then one model step at a time with a
/// cancellation check before each, and the clock every answer's stats come from (<see cref="Usage"/>).
/// Callers decide what a step's tokens mean (an answer, a row of candidates, beams read at the end).
/// </summary>
internal sealed class TokenLoop(Generator generator, CancellationToken cancellationToken)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>Time from the start to the end of prefill.</summary>
    public TimeSpan Prefilled { get; private set; }

    /// <summary>Time from the start to the first and to the latest step.</summary>
    public TimeSpan First { get; private set; }

    /// <inheritdoc cref="First"/>
    public TimeSpan Last { get; private set; }

    /// <summary>Model steps run so far.</summary>
    public int Steps { get; private set; }

    /// <summary>The tokens the latest step sampled, one per row.</summary>
    public ReadOnlySpan<int> Next => generator.GetNextTokens();

    /// <summary>Appends prompt tokens in chunks of <paramref name="chunk"/> (<see cref="LocalLlm.Prefill.Append"/>).</summary>
    /// <exception cref="OperationCanceledException">Cancelled before or during a chunk.</exception>
    public void Prefill(ReadOnlySpan<int> tokens, int chunk)
    {
        LocalLlm.Prefill.Append(generator, tokens, chunk, cancellationToken);
        Prefilled = _clock.Elapsed;
    }

    /// <summary>Runs one step unless the generator is done or <paramref name="maxSteps"/> ran; false when it did not.</summary>
    /// <exception cref="OperationCanceledException">Cancelled before the step.</exception>
    public bool Step(int maxSteps = int.MaxValue)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Steps >= maxSteps || generator.IsDone()) return false;
        generator.GenerateNextToken();
        Steps++;
        Last = _clock.Elapsed;
        if (Steps == 1) First = Last;
        return true;
    }

    /// <summary>The answer's stats from this loop's clock (<see cref="Usage.Measure"/>).</summary>
    public GenerationStats Stats(int promptTokens, int reused, int outputTokens, int rows) =>
        Usage.Measure(promptTokens, reused, outputTokens, rows, Prefilled, First, Last);
}
