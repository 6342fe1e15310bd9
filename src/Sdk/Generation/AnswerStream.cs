using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm;

/// <summary>
/// Turns one request's sampled tokens into what the caller sees, whoever samples them (its own generator or the
/// batching engine): end of sequence, stop strings matched on text (held back until they can no longer match),
/// the output limit, tool calls, and the timings and usage of the answer.
/// </summary>
internal sealed class AnswerStream(LocalModel model, int promptLength, GenerationSettings settings, bool toolsEnabled,
    ChannelWriter<GenerationEvent> writer, LocalLlmTelemetry telemetry, ILogger logger, string responseId) : IDisposable
{
    private readonly OutputFilter _filter = new(settings.StopSequences, settings.JsonOutput, toolsEnabled);
    private readonly TokenizerStream _decoder = model.CreateTokenizerStream();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _prefill, _firstToken, _lastToken;
    private int _reused;

    /// <summary>Tokens sampled so far (the end-of-sequence token included).</summary>
    public int Output { get; private set; }

    public ChatFinishReason Reason { get; private set; } = ChatFinishReason.Length;

    public void PrefillDone(int reused)
    {
        _prefill = _clock.Elapsed;
        _reused = reused;
    }

    /// <summary>Takes the next sampled token; false when the answer is complete.</summary>
    public bool Accept(int token)
    {
        Output++;
        _lastToken = _clock.Elapsed;
        if (Output == 1)
        {
            _firstToken = _lastToken;
            if (_prefill == TimeSpan.Zero) _prefill = _lastToken; // the engine prefills and samples in one step
        }
        if (model.Info.EosTokenIds.Contains(token)) { Reason = ChatFinishReason.Stop; return false; }
        string text = _filter.Append(_decoder.Decode(token));
        if (text.Length > 0) writer.TryWrite(new GenerationEvent.Text(text));
        if (_filter.Stopped) { Reason = ChatFinishReason.Stop; return false; }
        return Output < settings.MaxOutputTokens;
    }

    /// <summary>The sampler ended the answer at an end-of-sequence token it did not pass on.</summary>
    public void Stopped() => Reason = ChatFinishReason.Stop;

    /// <summary>Flushes held-back text, parses a tool call, records the stats and writes the final event.</summary>
    public void Finish(IReadOnlyList<double>? logProbabilities)
    {
        var (rest, toolText) = _filter.Finish();
        IReadOnlyList<FunctionCallContent>? calls = null;
        if (toolText is not null)
        {
            calls = ToolCallParser.Parse(toolText, settings.ToolNames);
            if (calls is null) rest += toolText; // not a well-formed call to a declared tool: it is just text
            else Reason = ChatFinishReason.ToolCalls;
        }
        if (rest.Length > 0) writer.TryWrite(new GenerationEvent.Text(rest));

        var stats = new GenerationStats
        {
            PromptTokens = promptLength,
            ReusedPromptTokens = _reused,
            OutputTokens = Output,
            TimeToFirstToken = _firstToken,
            DecodeTime = _lastToken - _firstToken,
            PrefillTokensPerSecond = _prefill > TimeSpan.Zero ? (promptLength - _reused) / _prefill.TotalSeconds : 0,
            DecodeTokensPerSecond = Output > 1 && _lastToken > _firstToken ? (Output - 1) / (_lastToken - _firstToken).TotalSeconds : 0,
        };
        Record(stats);
        Log.RequestFinished(logger, responseId, Reason.Value, promptLength, Output, stats.TimeToFirstToken.TotalMilliseconds, stats.DecodeTokensPerSecond);
        writer.TryWrite(new GenerationEvent.Finished(Reason, stats, calls, logProbabilities, settings.JsonOutput ? _filter.Emitted.ToString() : null));
    }

    /// <summary>Records the answer's measurements, tagged with the model (gen_ai.request.model) so several models in one process stay apart.</summary>
    private void Record(GenerationStats stats)
    {
        var tag = new KeyValuePair<string, object?>(LocalLlmTelemetry.ModelTag, model.Info.Id);
        telemetry.PromptTokens.Add(stats.PromptTokens, tag);
        telemetry.OutputTokens.Add(stats.OutputTokens, tag);
        if (stats.OutputTokens > 0) telemetry.TimeToFirstToken.Record(stats.TimeToFirstToken.TotalSeconds, tag);
        if (stats.PrefillTokensPerSecond > 0) telemetry.PrefillRate.Record(stats.PrefillTokensPerSecond, tag);
        if (stats.DecodeTokensPerSecond > 0)
        {
            telemetry.DecodeRate.Record(stats.DecodeTokensPerSecond, tag);
            telemetry.TimePerOutputToken.Record(1 / stats.DecodeTokensPerSecond, tag);
        }
    }

    public void Dispose() => _decoder.Dispose();
}
