using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm;

/// <summary>
/// The one place prompt tokens are appended to a generator, for every path (one request, beams, candidates): in
/// chunks of <see cref="ChunkFor"/> tokens where ORT GenAI allows it (<see cref="Whole"/> where it does not), every
/// chunk interruptible. The request's cancellation sets ORT GenAI's
/// <c>terminate_session</c> flag, which aborts a running chunk (the generator is unusable afterwards, so callers never
/// reuse it), and no further chunk starts once cancellation is requested.
/// </summary>
internal static class Prefill
{
    /// <summary>
    /// Prompt tokens per AppendTokens call. ORT GenAI keeps logits for every appended position (vocab × 4 bytes each,
    /// 0.6 MB per token for a 152k vocabulary): a 2,000-token Qwen2.5-0.5B-shaped prompt in one call peaked at 3.2 GB
    /// RSS, in 256-token chunks at 1.0 GB, with the same tokens and no slower prefill (docs/kv-cache.md). Only models
    /// with a shared GQA buffer are chunked: a third-party Concat export failed a multi-token append onto its past
    /// ("invalid expand shape" in its attention-mask subgraph).
    /// </summary>
    internal const int Chunk = LocalLlmChatClientOptions.PrefillChunkTokens; // one public number, so the planner sizes what the client does

    /// <summary>Tokens per append for this model: <see cref="Chunk"/> with a shared KV buffer, else everything at once.</summary>
    public static int ChunkFor(ModelInfo info) => info.SharesKvBuffer ? Chunk : Whole;

    /// <summary>
    /// One append for generators ORT GenAI cannot prefill in chunks (probed on 0.18 and 0.20,
    /// tests/Sdk.Tests/Sampling/LongPromptDecodingTests.cs): with <c>batch_size</c> &gt; 1 (sampled candidates) a second
    /// AppendTokens fails ("AppendTokens can only be called once for batch_size &gt; 1"), and with <c>num_beams</c> &gt; 1
    /// on a GQA model the second chunk fails (0.18: "total_sequence_length must equal past_sequence_length +
    /// kv_sequence_length" in GroupQueryAttention; 0.20: "batch_size must be 1 for continuous decoding").
    /// </summary>
    public const int Whole = int.MaxValue;

    /// <summary>Appends <paramref name="tokens"/> in chunks of <paramref name="chunk"/> tokens (all rows of a batch, row after row, when <paramref name="chunk"/> is <see cref="Whole"/>).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before or during a chunk.</exception>
    public static void Append(Generator generator, ReadOnlySpan<int> tokens, int chunk, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var terminate = cancellationToken.Register(static g => ((Generator)g!).SetRuntimeOption("terminate_session", "1"), generator);
        for (int start = 0; start < tokens.Length; start += chunk)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                generator.AppendTokens(tokens.Slice(start, Math.Min(chunk, tokens.Length - start)));
            }
            catch (OnnxRuntimeGenAIException) when (cancellationToken.IsCancellationRequested)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw;
            }
        }
    }

    /// <summary>
    /// Gives a new generator the image processor's inputs (token ids with image placeholders, pixel values): ONNX
    /// Runtime GenAI accepts images only as a generator's first inputs, in one call, so an image prompt is never
    /// chunked or appended to a cached prefix. Cancellation sets the terminate flag as for <see cref="Append"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static void SetInputs(Generator generator, ImageInputs inputs, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var terminate = cancellationToken.Register(static g => ((Generator)g!).SetRuntimeOption("terminate_session", "1"), generator);
        try
        {
            generator.SetInputs(inputs.Tensors);
        }
        catch (OnnxRuntimeGenAIException) when (cancellationToken.IsCancellationRequested)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw;
        }
    }
}
