using LocalLlm.ModelForge.Onnx;

namespace LocalLlm.ModelForge;

/// <summary>
/// The beam-trap design: a bigram model whose most likely first token leads to a less likely answer, so greedy
/// decoding and beam search give different, exactly known replies.
/// </summary>
/// <remarks>
/// The next token depends on the current token only (the copy design's attention with lag 1, one-hot embeddings):
/// after any token not listed below (a chat prompt ends with '\n') the model says 'a' with probability 0.6 or 'b'
/// with 0.4; after 'a' it says one of 'c', 'd', 'e', 'f' with 0.25 each; after 'b' it says 'x' with probability 1;
/// after 'c'..'f' or 'x' it says &lt;|im_end|&gt;. Every other token has logit −40 (probability below 1e−15).
/// Greedy takes 'a' (0.6) and then a 0.25 token: reply "ac", probability 0.15. The best two-token reply is "bx",
/// probability 0.4: beam search with two or more beams finds it. Both replies have the same length, so a length
/// penalty does not change the order. Fp32 and fp16 only: the head mixes magnitudes within quantization blocks.
/// </remarks>
public static class BeamTrapDesign
{
    /// <summary>What greedy decoding replies.</summary>
    public const string GreedyReply = "ac";

    /// <summary>The most probable reply, which beam search finds.</summary>
    public const string BestReply = "bx";

    /// <summary>Natural-log probability of <see cref="GreedyReply"/> (then &lt;|im_end|&gt; with probability 1).</summary>
    public static double GreedyLogProbability { get; } = Math.Log(0.6) + Math.Log(0.25);

    /// <summary>Natural-log probability of <see cref="BestReply"/>.</summary>
    public static double BestLogProbability { get; } = Math.Log(0.4);

    /// <summary>The next-token distribution after <paramref name="token"/>: (token, probability) pairs; every other token ≈ 0.</summary>
    public static IReadOnlyList<(int Token, double Probability)> Next(int token) => Slot(token) switch
    {
        1 => [('c', 0.25), ('d', 0.25), ('e', 0.25), ('f', 0.25)],
        2 => [('x', 1.0)],
        3 => [(ByteTokenizer.ImEnd, 1.0)],
        _ => [('a', 0.6), ('b', 0.4)],
    };

    private const float Floor = -40f;

    private static int Slot(int token) => token switch
    {
        'a' => 1,
        'b' => 2,
        'c' or 'd' or 'e' or 'f' or 'x' => 3,
        _ => 0,
    };

    internal static (DecoderSpec Spec, IDecoderWeights Weights) Create(ForgeOptions options)
    {
        var (spec, _) = DesignedModel.Create(options with { Design = ModelDesign.Successor });
        return (spec, new Weights(options.EffectiveContextLength));
    }

    private sealed class Weights : DesignedWeights
    {
        private const int Vocab = DesignedModel.VocabSize, HeadSize = DesignedModel.HeadSize;

        public Weights(int context)
        {
            // One-hot slot per token class, plus the constant dimension that drives the position-only keys.
            for (int t = 0; t < Vocab; t++)
            {
                EmbeddingMatrix[t, Slot(t)] = 1f;
                EmbeddingMatrix[t, DesignedModel.ConstDim] = 1f;
            }

            // Lag 1: the query is the constant, unrotated, so the score peaks at the current position (see DesignedModel).
            int pairs = HeadSize / 2;
            double amplitude = DesignedModel.AttentionMargin * Math.Sqrt(HeadSize) / DesignedModel.RotaryGap(Math.Max(context, 2));
            for (int h = 0; h < DesignedModel.Heads; h++)
            {
                for (int i = 0; i < pairs; i++)
                    QueryMatrix[DesignedModel.ConstDim, (h * HeadSize) + i] = (float)amplitude;
            }

            // Head row of each slot = that slot's log-probabilities (floor elsewhere).
            int[] representative = [0, 'a', 'b', 'x'];
            for (int slot = 0; slot < representative.Length; slot++)
            {
                for (int j = 0; j < Vocab; j++)
                    HeadMatrix[slot, j] = Floor;
                foreach (var (token, p) in Next(representative[slot]))
                    HeadMatrix[slot, token] = (float)Math.Log(p);
            }
        }
    }
}
