using LocalLlm.ModelForge.Onnx;
using static LocalLlm.ModelForge.DesignedModel;

namespace LocalLlm.ModelForge;

/// <summary>
/// What the designed models' weights share: one attention layer (the same for every layer), no MLP. Keys come from
/// the constant dimension alone, values copy the code dimensions and the output averages the heads; each design
/// fills the embedding, the queries and the head.
/// </summary>
internal abstract class DesignedWeights : IDecoderWeights
{
    private readonly DenseMatrix _key = new(Hidden, KvHeads * HeadSize);
    private readonly DenseMatrix _value = new(Hidden, KvHeads * HeadSize);
    private readonly DenseMatrix _output = new(Heads * HeadSize, Hidden);

    protected DesignedWeights()
    {
        for (int i = 0; i < HeadSize / 2; i++)
            _key[ConstDim, i] = 1f;
        for (int d = 0; d < CodeDims; d++)
        {
            _value[d, d] = 1f;
            for (int h = 0; h < Heads; h++)
                _output[(h * HeadSize) + d, d] = 1f / Heads;
        }
    }

    protected DenseMatrix EmbeddingMatrix { get; } = new(VocabSize, Hidden);

    protected DenseMatrix QueryMatrix { get; } = new(Hidden, Heads * HeadSize);

    protected DenseMatrix HeadMatrix { get; } = new(Hidden, VocabSize);

    public MatrixSource Embedding => EmbeddingMatrix;

    public MatrixSource LmHead => HeadMatrix;

    public float[]? LmBias { get; protected init; }

    public MatrixSource Query(int layer) => QueryMatrix;

    public MatrixSource Key(int layer) => _key;

    public MatrixSource Value(int layer) => _value;

    public MatrixSource Output(int layer) => _output;

    public MatrixSource Gate(int layer) => throw new NotSupportedException("Designed models have no MLP.");

    public MatrixSource Up(int layer) => throw new NotSupportedException("Designed models have no MLP.");

    public MatrixSource Down(int layer) => throw new NotSupportedException("Designed models have no MLP.");
}
