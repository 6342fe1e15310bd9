using LocalLlm.ModelForge.Onnx;

namespace LocalLlm.ModelForge;

/// <summary>
/// The tiny hand-designed model behind the copy, successor and fixed-distribution designs: one attention layer,
/// no norms, no residual, no MLP, so the output is exactly what the attention and the head compute.
/// </summary>
/// <remarks>
/// Hidden state of token t: dimensions 0..127 hold a ±1 code of t (codes pairwise correlated at most
/// <see cref="MaxCodeCorrelation"/>), dimension 128 holds a constant 1. Keys come from the constant only (so
/// they carry position alone after RoPE); queries are the constant pre-rotated by (lag − 1)·θ, so the RoPE score
/// q·k peaks exactly at the key lag − 1 positions back; values are the codes. The head scores each token j by
/// its code (copy) or by the code of j − 1 (successor). Every quantized block has a single distinct magnitude,
/// so int8 and int4 represent the designed weights exactly.
/// </remarks>
public static class DesignedModel
{
    /// <summary>Vocabulary of the designed models: 256 bytes + 5 special tokens.</summary>
    public const int VocabSize = ByteTokenizer.BaseVocabSize;

    /// <summary>Default context_length of the designed models.</summary>
    public const int DefaultContextLength = 2048;

    /// <summary>Largest correlation between the codes of two different tokens.</summary>
    public const double MaxCodeCorrelation = 0.3;

    /// <summary>The logit of the designed token (copy/successor); others are at most 0.3 of it.</summary>
    public const float TargetLogit = 32f;

    /// <summary>Smallest gap, in attention-score units, between the designed key position and any other one.</summary>
    public const double AttentionMargin = 30;

    internal const int CodeDims = 128;
    internal const int ConstDim = 128;
    internal const int Hidden = 160;
    internal const int Heads = 2;
    internal const int KvHeads = 1;
    internal const int HeadSize = 128;
    internal const float RopeTheta = 10000f;

    private static readonly Lazy<sbyte[][]> s_codes = new(CreateCodes);

    internal static (DecoderSpec Spec, IDecoderWeights Weights) Create(ForgeOptions options)
    {
        if (options.Design == ModelDesign.BeamTrap)
            return BeamTrapDesign.Create(options);
        int context = options.EffectiveContextLength;
        var spec = new DecoderSpec(VocabSize, Hidden, 1, Heads, KvHeads, HeadSize, 0, context, RopeTheta,
            Realistic: false, options.Precision, options.Attention, options.AccuracyLevel, options.LoraRank);
        int lag = options.Design == ModelDesign.Copy ? options.Lag : 1;
        return (spec, new Weights(options.Design, lag, context));
    }

    /// <summary>Token <paramref name="token"/>'s embedding: its code in dimensions 0..127, 1 in the constant dimension.</summary>
    internal static float[] EmbeddingRow(int token)
    {
        var row = new float[Hidden];
        sbyte[] code = s_codes.Value[token];
        for (int d = 0; d < CodeDims; d++) row[d] = code[d];
        row[ConstDim] = 1f;
        return row;
    }

    /// <summary>Seeded ±1 codes, kept only when correlated at most 0.3 with every earlier code.</summary>
    private static sbyte[][] CreateCodes()
    {
        var codes = new List<sbyte[]>(VocabSize);
        ulong state = 0x5EED_C0DE_2024UL;
        int limit = (int)(MaxCodeCorrelation * CodeDims);
        while (codes.Count < VocabSize)
        {
            var candidate = new sbyte[CodeDims];
            for (int d = 0; d < CodeDims; d++)
                candidate[d] = (RandomMatrix.Mix(state++) & 1) == 0 ? (sbyte)1 : (sbyte)-1;
            bool ok = codes.TrueForAll(c =>
            {
                int dot = 0;
                for (int d = 0; d < CodeDims; d++)
                    dot += c[d] * candidate[d];
                return dot <= limit;
            });
            if (ok)
                codes.Add(candidate);
        }
        return [.. codes];
    }

    /// <summary>
    /// The query weights' constant row (the only non-zero one), which alone sets the lag:
    /// Score(offset) = scale · amplitude · Σ_i cos((offset − (lag − 1))·θ_i), so the peak beats every other offset by at
    /// least <see cref="AttentionMargin"/>.
    /// </summary>
    internal static float[] QueryRow(int lag, int context)
    {
        int pairs = HeadSize / 2;
        double amplitude = AttentionMargin * Math.Sqrt(HeadSize) / RotaryGap(Math.Max(context, 2));
        var row = new float[Heads * HeadSize];
        for (int h = 0; h < Heads; h++)
        {
            for (int i = 0; i < pairs; i++)
            {
                double phi = (lag - 1) * Rotary.Frequency(i, HeadSize, RopeTheta);
                row[(h * HeadSize) + i] = (float)(amplitude * Math.Cos(phi));
                row[(h * HeadSize) + pairs + i] = (float)(-amplitude * Math.Sin(phi));
            }
        }
        return row;
    }

    /// <summary>Smallest of 64 − Σ cos(Δ·θ_i) over offsets 1..context−1: how much RoPE separates the peak.</summary>
    internal static double RotaryGap(int context)
    {
        int pairs = HeadSize / 2;
        double gap = double.MaxValue;
        for (int delta = 1; delta < context; delta++)
        {
            double sum = 0;
            for (int i = 0; i < pairs; i++)
                sum += Math.Cos(delta * Rotary.Frequency(i, HeadSize, RopeTheta));
            gap = Math.Min(gap, pairs - sum);
        }
        return gap;
    }

    private sealed class Weights : DesignedWeights
    {
        public Weights(ModelDesign design, int lag, int context)
        {
            sbyte[][] codes = s_codes.Value;
            for (int t = 0; t < VocabSize; t++)
            {
                for (int d = 0; d < CodeDims; d++)
                    EmbeddingMatrix[t, d] = codes[t][d];
                EmbeddingMatrix[t, ConstDim] = 1f;
            }

            float[] query = QueryRow(lag, context);
            for (int c = 0; c < query.Length; c++)
                QueryMatrix[ConstDim, c] = query[c];

            if (design == ModelDesign.FixedDistribution)
            {
                LmBias = FixedDistribution.Logits.ToArray();
                return;
            }
            float unit = TargetLogit / CodeDims;
            for (int j = 0; j < VocabSize; j++)
            {
                int source = design == ModelDesign.Successor ? (j + VocabSize - 1) % VocabSize : j;
                for (int d = 0; d < CodeDims; d++)
                    HeadMatrix[d, j] = unit * codes[source][d];
            }
        }
    }
}
