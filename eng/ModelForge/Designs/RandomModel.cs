using LocalLlm.ModelForge.Onnx;

namespace LocalLlm.ModelForge;

/// <summary>Seeded random weights (std 0.02, uniform) in a realistic Llama-style shape, for benchmarks.</summary>
internal static class RandomModel
{
    private const float Amplitude = 0.0346f; // uniform [-a, a) has std a/√3 ≈ 0.02

    public static (DecoderSpec Spec, IDecoderWeights Weights) Create(ForgeOptions options)
    {
        ModelShape s = options.EffectiveShape;
        var spec = new DecoderSpec(s.VocabSize, s.HiddenSize, s.Layers, s.AttentionHeads, s.KeyValueHeads, s.HeadSize,
            s.IntermediateSize, options.EffectiveContextLength, s.RopeTheta, Realistic: true, options.Precision,
            options.Attention, options.AccuracyLevel, options.LoraRank);
        return (spec, new Weights(s, (ulong)options.Seed));
    }

    private sealed class Weights(ModelShape s, ulong seed) : IDecoderWeights
    {
        private int Q => s.AttentionHeads * s.HeadSize;

        private int Kv => s.KeyValueHeads * s.HeadSize;

        public MatrixSource Embedding => M(s.VocabSize, s.HiddenSize, "embed");

        public MatrixSource LmHead => M(s.HiddenSize, s.VocabSize, "lm_head");

        public float[]? LmBias => null;

        public MatrixSource Query(int layer) => M(s.HiddenSize, Q, $"{layer}.q");

        public MatrixSource Key(int layer) => M(s.HiddenSize, Kv, $"{layer}.k");

        public MatrixSource Value(int layer) => M(s.HiddenSize, Kv, $"{layer}.v");

        public MatrixSource Output(int layer) => M(Q, s.HiddenSize, $"{layer}.o");

        public MatrixSource Gate(int layer) => M(s.HiddenSize, s.IntermediateSize, $"{layer}.gate");

        public MatrixSource Up(int layer) => M(s.HiddenSize, s.IntermediateSize, $"{layer}.up");

        public MatrixSource Down(int layer) => M(s.IntermediateSize, s.HiddenSize, $"{layer}.down");

        private RandomMatrix M(int rows, int cols, string id) => new(rows, cols, seed, id, Amplitude);
    }
}
