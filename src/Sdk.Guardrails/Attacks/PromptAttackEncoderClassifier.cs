using System.Text;
using System.Text.Json;

namespace LocalLlm.Guardrails.Attacks;

/// <summary>
/// The encoder half of the prompt-attack classifier: a logistic regression over a sentence embedding of the text
/// (all-MiniLM-L6-v2, 384 dimensions) and the n-gram <see cref="PromptAttackClassifier"/>'s log-odds. The encoder is
/// any <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> that makes all-MiniLM-L6-v2 vectors (LocalLlm.Embeddings'
/// built-in model), so this package does not carry the 91 MB model itself. Trained by eng/GuardTrainer
/// (<c>train-encoder</c>); see docs/guardrails.md. Thread-safe.
/// </summary>
public sealed class PromptAttackEncoderClassifier
{
    internal const string ResourceName = "LocalLlm.Guardrails.prompt-attack-encoder.json";

    /// <summary>Characters of the start of a long text that are embedded (after white space is collapsed).</summary>
    internal const int HeadCharacters = 400;

    /// <summary>Characters of the end of a long text that are embedded.</summary>
    internal const int TailCharacters = 160;

    private static readonly Lazy<PromptAttackEncoderClassifier> s_shipped = new(() => Load(ReadResource()));

    private readonly Head _head;

    private PromptAttackEncoderClassifier(Head head)
    {
        _head = head;
        Threshold = head.Threshold;
        ModelId = head.EncoderModelId;
    }

    /// <summary>Gets the classifier shipped in this package (loaded once, on first use).</summary>
    public static PromptAttackEncoderClassifier Shipped => s_shipped.Value;

    /// <summary>Gets the probability at or above which a text counts as an attack (chosen at training for at most 1% false positives on ordinary prompts).</summary>
    public double Threshold { get; }

    /// <summary>Gets the encoder model the weights were trained on (<c>all-MiniLM-L6-v2</c>).</summary>
    public string ModelId { get; }

    /// <summary>Gets the embedding length the weights expect.</summary>
    public int Dimensions => _head.Dimensions;

    /// <summary>Checks that <paramref name="encoder"/> makes the vectors these weights were trained on.</summary>
    /// <param name="encoder">The encoder.</param>
    /// <exception cref="ArgumentException">The encoder reports another model or size.</exception>
    internal void CheckEncoder(IEmbeddingGenerator<string, Embedding<float>> encoder)
    {
        var meta = encoder.GetService<EmbeddingGeneratorMetadata>();
        if (meta is null || meta.DefaultModelId != ModelId || (meta.DefaultModelDimensions is { } d && d != Dimensions))
            throw new ArgumentException(
                $"The prompt-attack classifier was trained on {ModelId} vectors ({Dimensions} dimensions), but the encoder reports " +
                $"{meta?.DefaultModelId ?? "no model id"} ({meta?.DefaultModelDimensions?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} dimensions). " +
                "Register the built-in encoder: services.AddLocalLlmEmbeddings() (package LocalLlm.Embeddings), or new LocalEmbeddingGenerator().", nameof(encoder));
    }

    /// <summary>Returns the attack probability from a text's embedding (of <see cref="Prepare"/>d text) and the n-gram classifier's probability.</summary>
    /// <param name="embedding">The unit-length embedding.</param>
    /// <param name="ngramProbability">The probability from <see cref="PromptAttackClassifier.Score"/>.</param>
    /// <returns>A probability, 0 to 1.</returns>
    internal double Score(ReadOnlySpan<float> embedding, double ngramProbability)
    {
        if (embedding.Length != Dimensions)
            throw new ArgumentException($"The embedding has {embedding.Length} dimensions; the classifier expects {Dimensions}.", nameof(embedding));
        double logit = Logit(ngramProbability);
        double z = _head.Bias;
        if (_head.Hidden is null)
        {
            // Linear: the embedding and the n-gram log-odds.
            z += _head.NgramWeight * logit;
            for (int i = 0; i < embedding.Length; i++)
                z += _head.Weights[i] * embedding[i];
        }
        else
        {
            // One hidden ReLU layer over [embedding, n-gram log-odds].
            for (int h = 0; h < _head.Hidden.Length; h++)
            {
                float[] w = _head.Hidden[h];
                double a = _head.HiddenBias![h] + (w[embedding.Length] * logit);
                for (int i = 0; i < embedding.Length; i++)
                    a += w[i] * embedding[i];
                if (a > 0)
                    z += _head.Weights[h] * a;
            }
        }
        return 1 / (1 + Math.Exp(-z));
    }

    /// <summary>The n-gram probability as log-odds, clipped so that 0 and 1 stay finite.</summary>
    internal static double Logit(double p)
    {
        p = Math.Clamp(p, 1e-4, 1 - 1e-4);
        return Math.Log(p / (1 - p));
    }

    /// <summary>
    /// The same text preparation at training and at inference: white space collapsed, and a long text cut to its first
    /// <see cref="HeadCharacters"/> and last <see cref="TailCharacters"/> characters (about 128 tokens of English), so
    /// the encoder's cost is bounded whatever the length.
    /// </summary>
    internal static string Prepare(string text)
    {
        string collapsed = AttackText.Collapse(text, 4 * (HeadCharacters + TailCharacters), lowerCase: false);
        return collapsed.Length <= HeadCharacters + TailCharacters
            ? collapsed
            : string.Concat(collapsed.AsSpan(0, HeadCharacters), " … ", collapsed.AsSpan(collapsed.Length - TailCharacters));
    }

    /// <summary>
    /// What the encoder reads of a text: the <see cref="Prepare"/>d whole (head and tail), and, for a text longer than
    /// <see cref="ChunkCharacters"/>, its sentences grouped into chunks of at most that length (the first
    /// <see cref="MaxChunks"/> − 3 and the last 3), so that an instruction hidden in the middle of a document is read on
    /// its own instead of being averaged away. The text's score is the highest window score.
    /// </summary>
    internal static List<string> Windows(string text)
    {
        var windows = new List<string> { Prepare(text) };
        string collapsed = AttackText.Collapse(text, 16 * MaxChunks * ChunkCharacters, lowerCase: false);
        if (collapsed.Length <= ChunkCharacters)
            return windows;
        var chunks = new List<string>();
        var current = new StringBuilder();
        int start = 0;
        for (int i = 0; i <= collapsed.Length; i++)
        {
            bool end = i == collapsed.Length || (collapsed[i] == ' ' && i > 0 && collapsed[i - 1] is '.' or '!' or '?' or '|' or ';' or ':');
            if (!end)
                continue;
            string sentence = collapsed[start..i].Trim();
            start = i;
            while (sentence.Length > ChunkCharacters)
            {
                Flush();
                chunks.Add(sentence[..ChunkCharacters]);
                sentence = sentence[ChunkCharacters..];
            }
            if (current.Length + sentence.Length + 1 > ChunkCharacters)
                Flush();
            if (sentence.Length > 0)
                current.Append(current.Length > 0 ? " " : "").Append(sentence);
        }
        Flush();
        if (chunks.Count > MaxChunks)
            chunks = [.. chunks.Take(MaxChunks - 3), .. chunks.Skip(chunks.Count - 3)];
        windows.AddRange(chunks);
        return windows;

        void Flush()
        {
            if (current.Length > 0)
                chunks.Add(current.ToString());
            current.Clear();
        }
    }

    /// <summary>The longest chunk of a long text that is read on its own.</summary>
    internal const int ChunkCharacters = 240;

    /// <summary>The most chunks read of one text (its cost grows with them).</summary>
    internal const int MaxChunks = 8;

    internal static PromptAttackEncoderClassifier Load(string json)
    {
        var head = JsonSerializer.Deserialize<Head>(json) ?? throw new InvalidOperationException("The encoder classifier weights are empty.");
        if (head.Weights is not { Length: > 0 } || !(head.Threshold is >= 0 and <= 1) || head.Dimensions <= 0
            || (head.Hidden is null ? head.Weights.Length != head.Dimensions
                : head.HiddenBias?.Length != head.Hidden.Length || head.Weights.Length != head.Hidden.Length || head.Hidden.Any(w => w.Length != head.Dimensions + 1)))
            throw new InvalidOperationException("The encoder classifier weights are malformed; retrain with eng/GuardTrainer train-encoder.");
        return new PromptAttackEncoderClassifier(head);
    }

    private static string ReadResource()
    {
        using var stream = typeof(PromptAttackEncoderClassifier).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Resource {ResourceName} is missing from LocalLlm.Guardrails; the package is broken.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// What eng/GuardTrainer writes (weights already divided by the training features' spread). Linear when
    /// <see cref="Hidden"/> is null (<see cref="Weights"/> per embedding dimension, <see cref="NgramWeight"/>); else one
    /// hidden ReLU layer (<see cref="Hidden"/>: per unit, a weight per dimension and last the n-gram log-odds' weight)
    /// and <see cref="Weights"/> per hidden unit.
    /// </summary>
    internal sealed record Head(string EncoderModelId, int Dimensions, float[][]? Hidden, float[]? HiddenBias, float[] Weights, float NgramWeight, float Bias,
        double Threshold, string Trained, string Data);
}
