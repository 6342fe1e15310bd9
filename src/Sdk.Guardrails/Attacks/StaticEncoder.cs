using System.Text;
using Microsoft.ML.Tokenizers;

namespace LocalLlm.Guardrails.Attacks;

/// <summary>
/// A static (look-up) sentence encoder distilled from all-MiniLM-L6-v2, Model2Vec-style: eng/GuardTrainer ran the
/// encoder once on every vocabulary token alone, reduced the vectors with PCA, weighted them by rank (rarer tokens
/// weigh more) and stored them as INT8 with a scale per token. A text's vector is the unit-length sum of its WordPiece
/// tokens' vectors: a tokenisation and a few thousand additions, well under a millisecond for 512 tokens, with no
/// model run. Thread-safe.
/// </summary>
internal sealed class StaticEncoder
{
    internal const string ResourceName = "LocalLlm.Guardrails.prompt-attack-static.bin";
    private const int Magic = 0x45534C4C; // "LLSE"
    private const int Version = 1;

    private static readonly Lazy<StaticEncoder> s_shipped = new(() =>
    {
        using var stream = typeof(StaticEncoder).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Resource {ResourceName} is missing from LocalLlm.Guardrails; the package is broken.");
        return Load(stream);
    });

    private readonly BertTokenizer _tokenizer;
    private readonly sbyte[] _values; // [token][dimension]
    private readonly float[] _scales; // per token

    private StaticEncoder(string modelId, BertTokenizer tokenizer, int dimensions, sbyte[] values, float[] scales)
    {
        ModelId = modelId;
        _tokenizer = tokenizer;
        Dimensions = dimensions;
        _values = values;
        _scales = scales;
    }

    /// <summary>Gets the table shipped in this package (loaded once, on first use).</summary>
    public static StaticEncoder Shipped => s_shipped.Value;

    /// <summary>Gets the table's name (the encoder it was distilled from and its size), which a head records.</summary>
    public string ModelId { get; }

    /// <summary>Gets the vector length.</summary>
    public int Dimensions { get; }

    /// <summary>Gets the number of tokens read of one text at most (a longer text's rest is not read).</summary>
    public const int MaxTokens = 4096;

    /// <summary>Returns the unit-length vector of <paramref name="text"/> (all zeros when it has no tokens).</summary>
    public float[] Embed(string text)
    {
        var ids = _tokenizer.EncodeToIds(text, MaxTokens, addSpecialTokens: false, out _, out _, considerPreTokenization: true, considerNormalization: true);
        var sum = new float[Dimensions];
        foreach (int id in ids)
        {
            float s = _scales[id];
            int row = id * Dimensions;
            for (int k = 0; k < sum.Length; k++)
                sum[k] += s * _values[row + k];
        }
        double norm = 0;
        foreach (float v in sum)
            norm += (double)v * v;
        if (norm > 0)
        {
            float inv = (float)(1 / Math.Sqrt(norm));
            for (int k = 0; k < sum.Length; k++)
                sum[k] *= inv;
        }
        return sum;
    }

    /// <summary>Reads a table written by <see cref="Write"/>.</summary>
    internal static StaticEncoder Load(Stream stream)
    {
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        if (reader.ReadInt32() != Magic || reader.ReadInt32() != Version)
            throw new InvalidOperationException("The static encoder table is not a version-1 LLSE file; rebuild it with eng/GuardTrainer distill-static --write.");
        string modelId = reader.ReadString();
        int count = reader.ReadInt32(), dims = reader.ReadInt32();
        if (count <= 0 || dims <= 0)
            throw new InvalidOperationException("The static encoder table is malformed; rebuild it with eng/GuardTrainer distill-static --write.");
        var vocab = new StringBuilder();
        for (int i = 0; i < count; i++)
            vocab.Append(reader.ReadString()).Append('\n');
        var scales = new float[count];
        for (int i = 0; i < count; i++)
            scales[i] = reader.ReadSingle();
        byte[] raw = reader.ReadBytes(count * dims);
        if (raw.Length != count * dims)
            throw new InvalidOperationException("The static encoder table is cut short; rebuild it with eng/GuardTrainer distill-static --write.");
        var values = new sbyte[raw.Length];
        Buffer.BlockCopy(raw, 0, values, 0, raw.Length);
        using var vocabStream = new MemoryStream(Encoding.UTF8.GetBytes(vocab.ToString()));
        var tokenizer = BertTokenizer.Create(vocabStream, new BertOptions { LowerCaseBeforeTokenization = true });
        return new StaticEncoder(modelId, tokenizer, dims, values, scales);
    }

    /// <summary>Writes a table: the vocabulary (one token per id) and each token's vector as INT8 with its own scale.</summary>
    internal static void Write(Stream stream, string modelId, IReadOnlyList<string> vocabulary, IReadOnlyList<float[]> vectors)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(Version);
        writer.Write(modelId);
        writer.Write(vocabulary.Count);
        writer.Write(vectors[0].Length);
        foreach (string token in vocabulary)
            writer.Write(token);
        var scales = vectors.Select(v => v.Max(Math.Abs) / 127).ToArray();
        foreach (float s in scales)
            writer.Write(s);
        for (int i = 0; i < vectors.Count; i++)
            foreach (float v in vectors[i])
                writer.Write(scales[i] > 0 ? (sbyte)Math.Round(v / scales[i]) : (sbyte)0);
    }
}
