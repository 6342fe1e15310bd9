using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace LocalLlm;

/// <summary>
/// One request served by the <see cref="BatchingEngine"/>: submits the prompt as a row, turns the tokens the engine
/// sends back into the caller's events (<see cref="AnswerStream"/>: stops, tool calls, JSON, usage, stats), and cancels
/// the row when the caller cancels or the answer ends early (a stop string), so it stops costing work at the next step.
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
            var row = engine.Submit(prompt, settings);
            try
            {
                using (ct.Register(static r => ((BatchingEngine.Row)r!).Cancel(), row))
                {
                    var tokens = row.Tokens.Reader;
                    while (await tokens.WaitToReadAsync(ct).ConfigureAwait(false))
                    {
                        if (!tokens.TryRead(out int token)) continue;
                        if (answer.Output == 0)
                        {
                            answer.PrefillDone(row.Reused);
                            if (engine.SharesPrefixes) telemetry.KvCacheLookups.Add(1, new KeyValuePair<string, object?>("localllm.kv_cache.hit", row.Reused > 0));
                            if (row.Reused > 0)
                            {
                                telemetry.KvCacheReusedTokens.Add(row.Reused);
                                Log.KvCacheReused(logger, responseId, row.Reused, prompt.Length);
                            }
                        }
                        if (answer.Accept(token)) continue;
                        row.Cancel(); // the answer is complete (a stop string, or the engine's own end)
                        break;
                    }
                }
                answer.Finish(null);
                writer.TryComplete();
            }
            catch (OperationCanceledException)
            {
                row.Cancel();
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
