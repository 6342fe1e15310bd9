using System.IO.Compression;
using System.Text;

namespace LocalLlm.Routing.Classifier;

/// <summary>
/// A trained prompt classifier: scores how likely the small tier is to get a prompt wrong, so a router can send
/// the hardest share of traffic to the large tier. The default model ships inside this package; train your own
/// with <c>eng/RouterTrainer</c>.
/// </summary>
/// <remarks>
/// The model is logistic regressions over hashed word 1-2 grams (the answer options' words hashed apart from the
/// question's), character 4-grams, bucketed shape tokens and a few dense shape features, trained on RouteLLM
/// MMLU rows: one predicts whether the weak (small) model answers correctly, the other whether the strong (large)
/// model does. The score is the expected gain of the large tier, P(large right) - P(small right), mapped to 0-1.
/// (The format holds up to eight weighted heads; the trainer adds more only when cross-validation says they help.)
/// Scoring takes microseconds.
/// </remarks>
public sealed class PromptClassifier
{
    private const int Magic = 0x43524c4c; // "LLRC"
    private const int FormatVersion = 2; // 2: featurizer v2 (option words apart, char 4-grams, shape buckets); 1: words only
    private const string DefaultResourceName = "LocalLlm.Routing.prompt-classifier.bin";

    private static readonly Lazy<PromptClassifier> s_default = new(() =>
    {
        using Stream stream = typeof(PromptClassifier).Assembly.GetManifestResourceStream(DefaultResourceName)
            ?? throw new InvalidOperationException($"The embedded classifier '{DefaultResourceName}' is missing from {typeof(PromptClassifier).Assembly.GetName().Name}; rebuild the package.");
        return Load(stream);
    });

    private readonly int _hashBits;
    private readonly Head[] _heads;
    private readonly float[] _quantiles;

    private PromptClassifier(int hashBits, Head[] heads, float[] quantiles, string description)
    {
        _hashBits = hashBits;
        _heads = heads;
        _quantiles = quantiles;
        Description = description;
    }

    /// <summary>One logistic head; the score sums coefficient × probability over heads.</summary>
    internal sealed record Head(float Coefficient, float Bias, float[] Weights);

    /// <summary>Gets a one-line description of the model (training data, features, held-out quality).</summary>
    public string Description { get; }

    /// <summary>Gets the classifier embedded in this package (loaded once).</summary>
    /// <returns>The shared default classifier.</returns>
    public static PromptClassifier LoadDefault() => s_default.Value;

    /// <summary>Loads a classifier written by <c>eng/RouterTrainer</c>.</summary>
    /// <param name="stream">The gzip-compressed model stream.</param>
    /// <returns>The loaded classifier.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidDataException">The stream is not a classifier in a known format.</exception>
    public static PromptClassifier Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            using var gzip = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
            using var reader = new BinaryReader(gzip, Encoding.UTF8);
            if (reader.ReadInt32() != Magic)
                throw new InvalidDataException("Not a LocalLlm prompt classifier (bad magic); write one with eng/RouterTrainer.");
            int version = reader.ReadInt32();
            if (version != FormatVersion)
                throw new InvalidDataException($"Prompt classifier format {version} is not supported (expected {FormatVersion}); retrain with this version's eng/RouterTrainer.");
            int hashBits = reader.ReadInt32();
            if (hashBits is < 8 or > 24)
                throw new InvalidDataException($"Prompt classifier hash bits {hashBits} out of range 8-24.");
            int dense = reader.ReadInt32();
            if (dense != PromptFeaturizer.DenseCount)
                throw new InvalidDataException($"Prompt classifier has {dense} dense features; this version computes {PromptFeaturizer.DenseCount}. Retrain.");
            var heads = new Head[reader.ReadInt32()];
            if (heads.Length is < 1 or > 8)
                throw new InvalidDataException($"Prompt classifier has {heads.Length} heads; expected 1-8.");
            for (int h = 0; h < heads.Length; h++)
            {
                float coefficient = reader.ReadSingle();
                float bias = reader.ReadSingle();
                var weights = new float[PromptFeaturizer.Dimension(hashBits)];
                int count = reader.ReadInt32();
                for (int i = 0; i < count; i++)
                {
                    int index = reader.ReadInt32();
                    if ((uint)index >= (uint)weights.Length)
                        throw new InvalidDataException($"Prompt classifier weight index {index} is outside 0-{weights.Length - 1}.");
                    weights[index] = reader.ReadSingle();
                }
                heads[h] = new Head(coefficient, bias, weights);
            }
            var quantiles = new float[reader.ReadInt32()];
            if (quantiles.Length < 2)
                throw new InvalidDataException("Prompt classifier has no score quantiles.");
            for (int i = 0; i < quantiles.Length; i++)
                quantiles[i] = reader.ReadSingle();
            string description = reader.ReadString();
            return new PromptClassifier(hashBits, heads, quantiles, description);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("Prompt classifier stream is truncated.", e);
        }
    }

    /// <summary>Scores a prompt.</summary>
    /// <param name="prompt">The user's prompt.</param>
    /// <returns>
    /// A score in 0-1: 0.5 + (the weighted sum of the heads) / 2. The shipped heads are P(large right) - P(small right).
    /// Higher means the large tier is more likely to answer better than the small one.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="prompt"/> is <see langword="null"/>.</exception>
    public float Score(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var (indices, values) = PromptFeaturizer.Featurize(prompt, _hashBits);
        return Combine(_heads, indices, values);
    }

    internal static float Combine(IReadOnlyList<Head> heads, int[] indices, float[] values)
    {
        float score = 0;
        foreach (Head head in heads)
        {
            float z = head.Bias;
            for (int i = 0; i < indices.Length; i++)
                z += head.Weights[indices[i]] * values[i];
            score += head.Coefficient / (1f + MathF.Exp(-z));
        }
        return Math.Clamp(0.5f + (score / 2), 0f, 1f);
    }

    /// <summary>
    /// Gets the score threshold that sends about <paramref name="largeShare"/> of traffic (as distributed like the
    /// training prompts) to the large tier: prompts scoring at or above it go large.
    /// </summary>
    /// <param name="largeShare">The wanted share of large-tier calls, 0-1.</param>
    /// <returns>The score threshold.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="largeShare"/> is outside 0-1.</exception>
    public float ThresholdForLargeShare(double largeShare)
    {
        if (double.IsNaN(largeShare) || largeShare is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(largeShare), largeShare, "The large-tier share must be between 0 and 1.");
        if (largeShare == 0)
            return float.PositiveInfinity;
        // quantiles[k] = score at the k-th of (n-1) equal steps through the sorted training scores.
        double position = (1 - largeShare) * (_quantiles.Length - 1);
        int lower = (int)Math.Floor(position);
        int upper = Math.Min(lower + 1, _quantiles.Length - 1);
        double t = position - lower;
        return (float)(_quantiles[lower] + ((_quantiles[upper] - _quantiles[lower]) * t));
    }

    /// <summary>Writes a classifier in the format <see cref="Load"/> reads (used by eng/RouterTrainer).</summary>
    internal static void Write(Stream stream, int hashBits, IReadOnlyList<Head> heads, IReadOnlyList<float> quantiles, string description)
    {
        using var gzip = new GZipStream(stream, CompressionLevel.SmallestSize, leaveOpen: true);
        using var writer = new BinaryWriter(gzip, Encoding.UTF8);
        writer.Write(Magic);
        writer.Write(FormatVersion);
        writer.Write(hashBits);
        writer.Write(PromptFeaturizer.DenseCount);
        writer.Write(heads.Count);
        foreach (Head head in heads)
        {
            writer.Write(head.Coefficient);
            writer.Write(head.Bias);
            writer.Write(head.Weights.Count(w => w != 0));
            for (int i = 0; i < head.Weights.Length; i++)
            {
                if (head.Weights[i] == 0) continue;
                writer.Write(i);
                writer.Write(head.Weights[i]);
            }
        }
        writer.Write(quantiles.Count);
        foreach (float q in quantiles)
            writer.Write(q);
        writer.Write(description);
    }
}
