using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace LocalLlm;

/// <summary>
/// One request served by the <see cref="BatchingEngine"/>: submits the prompt as a turn, turns the tokens the engine
/// sends back into the caller's events (<see cref="AnswerStream"/>), and cancels the turn in the engine when the
/// caller cancels or the answer ends early (a stop string), so its batch row stops costing work.
/// </summary>
internal sealed class BatchedGeneration(LocalModel model, BatchingEngine engine, int[] prompt, GenerationSettings settings, bool toolsEnabled,
    ModelTelemetry telemetry, ILogger logger, string responseId, RequestScheduler.Admission admission)
{
    public ChannelReader<GenerationEvent> Start(CancellationToken cancellationToken, out Task completion)
    {
        var channel = Channel.CreateUnbounded<GenerationEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        completion = RunAsync(channel.Writer, cancellationToken);
        return channel.Reader;
    }

    private async Task RunAsync(ChannelWriter<GenerationEvent> writer, CancellationToken ct)
    {
        await Task.Yield(); // never run on the caller's thread
        try
        {
            ct.ThrowIfCancellationRequested();
            using var lease = model.Acquire();
            telemetry.ActiveRequests.Add(1);
            using var answer = new AnswerStream(model, prompt.Length, settings, toolsEnabled, writer, telemetry, logger, responseId);
            var turn = engine.Submit(prompt, settings);
            try
            {
                using (ct.Register(static t => ((BatchingEngine.Turn)t!).Cancel(), turn))
                {
                    var tokens = turn.Tokens.Reader;
                    while (await tokens.WaitToReadAsync(ct).ConfigureAwait(false))
                    {
                        if (!tokens.TryRead(out int token) || answer.Accept(token)) continue;
                        turn.Cancel(); // the answer is complete before the engine's own limits
                        break;
                    }
                }
                if (turn.Reason is NativeEngine.FinishReason.Eos or NativeEngine.FinishReason.StopString) answer.Stopped();
                answer.Finish(null);
                writer.TryComplete();
            }
            catch (OperationCanceledException)
            {
                turn.Cancel();
                Log.RequestCancelled(logger, responseId, answer.Output);
                throw;
            }
            finally
            {
                telemetry.ActiveRequests.Add(-1);
            }
        }
        catch (Exception e)
        {
            writer.TryComplete(e);
        }
        finally
        {
            admission.Dispose();
        }
    }
}
