using System.Text;

namespace LocalLlm.Guardrails.Attacks;

/// <summary>
/// The v2 prompt-attack classifier that <see cref="PromptAttackCheck"/> runs by default: one logistic regression over
/// a window's hashed n-grams and structural cues (<see cref="AttackNgrams"/>, <see cref="AttackCues"/>), its <see cref="StaticEncoder"/> vector (distilled from
/// all-MiniLM-L6-v2) and the v1 n-gram <see cref="PromptAttackClassifier"/>'s log-odds of the whole text. A text is read as the windows of
/// <see cref="PromptAttackEncoderClassifier.Windows"/> (the whole, and the sentence chunks of a long text) and scores
/// its highest window, so an instruction hidden in a pasted document is read on its own. No model run beyond the v1
/// classifier (run once per text): a few milliseconds for a 512-token prompt. Trained by eng/GuardTrainer
/// (<c>train-encoder --static --variant 8 --augment --cues --write</c>); see docs/guardrails.md. Thread-safe.
/// </summary>
internal sealed class PromptAttackStaticClassifier
{
    internal const string ResourceName = "LocalLlm.Guardrails.prompt-attack-v2.bin";
    private const int Magic = 0x41504C4C; // "LLPA"
    private const int Version = 1; // hashed n-grams
    private const int VersionWithCues = 2; // hashed n-grams and AttackCues' structural cues

    private static readonly Lazy<PromptAttackStaticClassifier> s_shipped = new(() =>
    {
        using var stream = typeof(PromptAttackStaticClassifier).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Resource {ResourceName} is missing from LocalLlm.Guardrails; the package is broken.");
        return Load(stream, StaticEncoder.Shipped, PromptAttackClassifier.Shipped);
    });

    private readonly Half[] _ngramWeights;
    private readonly float[] _embeddingWeights;
    private readonly float _v1Weight;
    private readonly float _bias;
    private readonly StaticEncoder _encoder;
    private readonly PromptAttackClassifier _v1;
    private readonly bool _cues;

    private PromptAttackStaticClassifier(Half[] ngramWeights, float[] embeddingWeights, float v1Weight, float bias, double threshold,
        StaticEncoder encoder, PromptAttackClassifier v1, bool cues)
    {
        _cues = cues;
        _ngramWeights = ngramWeights;
        _embeddingWeights = embeddingWeights;
        _v1Weight = v1Weight;
        _bias = bias;
        Threshold = threshold;
        _encoder = encoder;
        _v1 = v1;
    }

    /// <summary>Gets the classifier shipped in this package (loaded once, on first use).</summary>
    public static PromptAttackStaticClassifier Shipped => s_shipped.Value;

    /// <summary>Gets the probability at or above which a text counts as an attack (chosen at training for at most 1% false positives on ordinary prompts).</summary>
    public double Threshold { get; }

    /// <summary>Returns the attack probability of <paramref name="text"/>: its highest window's.</summary>
    public double Score(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var windows = PromptAttackEncoderClassifier.Windows(text);
        // The v1 classifier reads the whole (first) window once; its log-odds count in every window's score.
        double v1 = PromptAttackEncoderClassifier.Logit(_v1.Score(windows[0]));
        double best = 0;
        foreach (string window in windows)
            best = Math.Max(best, ScoreWindow(window, v1));
        return best;
    }

    /// <summary>Returns one window's attack probability, given the v1 log-odds of the text's whole window.</summary>
    internal double ScoreWindow(string window, double v1LogOdds)
    {
        double z = _bias;
        var (index, value) = AttackNgrams.Features(window, _cues);
        for (int k = 0; k < index.Length; k++)
            z += (float)_ngramWeights[index[k]] * value[k];
        float[] e = _encoder.Embed(window);
        for (int k = 0; k < e.Length; k++)
            z += _embeddingWeights[k] * e[k];
        z += _v1Weight * v1LogOdds;
        return 1 / (1 + Math.Exp(-z));
    }

    /// <summary>Reads weights written by <see cref="Write"/>; they must match <paramref name="encoder"/>.</summary>
    internal static PromptAttackStaticClassifier Load(Stream stream, StaticEncoder encoder, PromptAttackClassifier v1)
    {
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        int version = reader.ReadInt32() == Magic ? reader.ReadInt32() : -1;
        if (version is not (Version or VersionWithCues))
            throw new InvalidOperationException("The v2 prompt-attack weights are not a version-1 or -2 LLPA file; retrain with eng/GuardTrainer train-encoder --static --variant 8 --augment --cues --write.");
        string modelId = reader.ReadString();
        double threshold = reader.ReadDouble();
        float bias = reader.ReadSingle(), v1Weight = reader.ReadSingle();
        int buckets = reader.ReadInt32(), dims = reader.ReadInt32();
        if (modelId != encoder.ModelId || dims != encoder.Dimensions || buckets != AttackNgrams.Buckets || !(threshold is >= 0 and <= 1))
            throw new InvalidOperationException(
                $"The v2 prompt-attack weights were trained on {modelId} ({dims} dimensions, {buckets} n-gram buckets), but the package has {encoder.ModelId} " +
                $"({encoder.Dimensions} dimensions, {AttackNgrams.Buckets} buckets); retrain with eng/GuardTrainer train-encoder --static --variant 8 --augment --cues --write.");
        var ngram = new Half[buckets];
        for (int i = 0; i < buckets; i++)
            ngram[i] = reader.ReadHalf();
        var embedding = new float[dims];
        for (int i = 0; i < dims; i++)
            embedding[i] = reader.ReadSingle();
        return new PromptAttackStaticClassifier(ngram, embedding, v1Weight, bias, threshold, encoder, v1, version == VersionWithCues);
    }

    /// <summary>Writes the weights: n-gram buckets (as half precision), then the embedding's, the v1 log-odds' and the bias.</summary>
    /// <remarks><paramref name="cues"/>: the n-gram weights include <see cref="AttackCues"/>' (a version-2 file).</remarks>
    internal static void Write(Stream stream, string encoderModelId, double threshold, float bias, float v1Weight, ReadOnlySpan<float> ngramWeights,
        ReadOnlySpan<float> embeddingWeights, string trained, string data, bool cues = false)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(cues ? VersionWithCues : Version);
        writer.Write(encoderModelId);
        writer.Write(threshold);
        writer.Write(bias);
        writer.Write(v1Weight);
        writer.Write(ngramWeights.Length);
        writer.Write(embeddingWeights.Length);
        foreach (float w in ngramWeights)
            writer.Write((Half)w);
        foreach (float w in embeddingWeights)
            writer.Write(w);
        writer.Write(trained);
        writer.Write(data);
    }
}
