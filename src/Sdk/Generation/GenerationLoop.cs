using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm;

/// <summary>
/// One streamed request on its own thread: a generator from the KV-cache pool (or a new one), the prompt tokens it
/// does not hold yet and one token at a time through the <see cref="TokenLoop"/>, each token through the
/// <see cref="AnswerStream"/>. It owns its generator until it hands it back through the admission (to the KV-cache
/// pool, or disposal).
/// </summary>
internal sealed class GenerationLoop(LocalModel model, int[] prompt, GenerationSettings settings, bool toolsEnabled,
    ModelTelemetry telemetry, ILogger logger, string responseId, GeneratorPlan plan, KvCachePool? pool,
    RequestScheduler.Admission admission, string? conversationId)
{
    private static int s_liveGenerators;

    /// <summary>Generators held by running requests now, process-wide (tests check that none leak). Idle generators parked in a <see cref="KvCachePool"/> are not counted.</summary>
    internal static int LiveGenerators => Volatile.Read(ref s_liveGenerators);

    /// <summary>The image processor's inputs when the prompt holds images: the generator takes them instead of <c>prompt</c>'s tokens (never reused, never pooled: the request's plan has no key).</summary>
    internal ImageInputs? Images { get; init; }

    /// <summary>Test hook: runs on the generation thread just before the prompt is appended (prefill).</summary>
    internal Action? PrefillStarting { get; init; }

    public ChannelReader<GenerationEvent> Start(CancellationToken cancellationToken, out Task completion)
    {
        var channel = Channel.CreateUnbounded<GenerationEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        completion = GenerationThreads.Run(() =>
        {
            try
            {
                Run(channel.Writer, cancellationToken);
                channel.Writer.TryComplete();
            }
            catch (Exception e)
            {
                channel.Writer.TryComplete(RequestValidation.Translate(e, settings));
            }
        });
        return channel.Reader;
    }

    private void Run(ChannelWriter<GenerationEvent> writer, CancellationToken ct)
    {
        CachedGenerator? generator = null;
        bool reusable = false;
        int output = 0;
        try
        {
            ct.ThrowIfCancellationRequested();
            using var lease = model.Acquire();
            if (plan.Key is not null && pool is not null) generator = pool.Take(prompt, plan.Key, plan.Length, conversationId);
            generator ??= CachedGenerator.Create(model, settings, prompt.Length, plan.MaxLength, plan.Key);
            Interlocked.Increment(ref s_liveGenerators);
            output = Generate(generator, writer, ct);
            reusable = true;
        }
        finally
        {
            if (generator is not null)
            {
                // Only a generator that finished normally is in a known state; after cancellation the terminate flag may be set.
                generator.Broken |= !reusable;
                if (!generator.Broken)
                {
                    generator.Snapshot(prompt.Length + output);
                    generator.ConversationId = conversationId;
                }
                Interlocked.Decrement(ref s_liveGenerators);
            }
            admission.Release(generator);
        }
    }

    /// <returns>The tokens sampled.</returns>
    private int Generate(CachedGenerator cached, ChannelWriter<GenerationEvent> writer, CancellationToken ct)
    {
        var generator = cached.Generator;
        List<double>? logProbs = settings.LogProbabilities ? [] : null;
        telemetry.ActiveRequests.Add(1);
        using var answer = new AnswerStream(model, prompt.Length, settings, toolsEnabled, writer, telemetry, logger, responseId);
        try
        {
            var loop = new TokenLoop(generator, ct);
            PrefillStarting?.Invoke();
            int reused = Images is null
                ? cached.Prefill(prompt, loop) // interruptible chunk by chunk; a cancelled generator is never reused
                : cached.Prefill(Images, prompt.Length, ct);
            answer.PrefillDone(reused);
            if (reused > 0)
            {
                telemetry.KvCacheReusedTokens.Add(reused);
                Log.KvCacheReused(logger, responseId, reused, prompt.Length);
            }

            while (loop.Step())
            {
                int token = loop.Next[0];
                if (logProbs is not null) logProbs.Add(LogProbability(generator, token));
                if (!answer.Accept(token)) break;
            }
            answer.Finish(logProbs);
            return answer.Output;
        }
        catch (OperationCanceledException)
        {
            Log.RequestCancelled(logger, responseId, answer.Output);
            throw;
        }
        finally
        {
            telemetry.ActiveRequests.Add(-1);
        }
    }

    /// <summary>log softmax of the logits the token was sampled from (read right after GenerateNextToken).</summary>
    private static double LogProbability(Generator generator, int token)
    {
        using var logits = generator.GetOutput("logits");
        long[] shape = logits.Shape();
        int vocab = (int)shape[^1];
        long offset = logits.NumElements() - vocab;
        double max = double.NegativeInfinity, sum = 0, chosen = 0;
        Span<double> row = vocab <= 4096 ? stackalloc double[vocab] : new double[vocab];
        if (logits.Type() == ElementType.float16)
        {
            var data = logits.GetData<Half>();
            for (int i = 0; i < vocab; i++) row[i] = (double)data[(int)(offset + i)];
        }
        else
        {
            var data = logits.GetData<float>();
            for (int i = 0; i < vocab; i++) row[i] = data[(int)(offset + i)];
        }
        foreach (double v in row) max = Math.Max(max, v);
        foreach (double v in row) sum += Math.Exp(v - max);
        chosen = row[token];
        return chosen - max - Math.Log(sum);
    }
}
