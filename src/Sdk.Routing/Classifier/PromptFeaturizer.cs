using System.Globalization;

namespace LocalLlm.Routing.Classifier;

/// <summary>
/// Turns a prompt into a sparse feature vector: hashed word unigrams and bigrams plus a few dense shape features.
/// The trainer (eng/RouterTrainer) featurizes with this exact code, so the shipped weights line up.
/// </summary>
internal static class PromptFeaturizer
{
    /// <summary>Number of dense features stored after the hashed block.</summary>
    public const int DenseCount = 8;

    public static int Dimension(int hashBits) => (1 << hashBits) + DenseCount;

    /// <summary>Sorted, distinct indices with their values.</summary>
    public static (int[] Indices, float[] Values) Featurize(string prompt, int hashBits)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        int mask = (1 << hashBits) - 1;
        var hashed = new HashSet<int>();
        ulong previous = 0;
        bool hasPrevious = false;
        int words = 0, digits = 0, symbols = 0, lines = 1, upper = 0;
        int i = 0;
        while (i < prompt.Length)
        {
            char c = prompt[i];
            if (char.IsLetterOrDigit(c))
            {
                // One word: fold to lower case while hashing, no string allocation.
                ulong h = 14695981039346656037UL;
                while (i < prompt.Length && char.IsLetterOrDigit(prompt[i]))
                {
                    char w = prompt[i];
                    if (char.IsDigit(w)) digits++;
                    if (char.IsUpper(w)) upper++;
                    h = (h ^ char.ToLowerInvariant(w)) * 1099511628211UL;
                    i++;
                }
                words++;
                hashed.Add((int)(Mix(h) & (uint)mask));
                if (hasPrevious)
                    hashed.Add((int)(Mix((previous * 31) ^ h ^ 0x9E3779B97F4A7C15UL) & (uint)mask));
                previous = h;
                hasPrevious = true;
                continue;
            }
            if (c == '\n') lines++;
            else if (!char.IsWhiteSpace(c) && c != '.' && c != ',' && c != '?') symbols++;
            i++;
        }

        int[] indices = new int[hashed.Count + DenseCount];
        float[] values = new float[indices.Length];
        hashed.CopyTo(indices);
        Array.Sort(indices, 0, hashed.Count);
        // Presence features, scaled so long and short prompts weigh alike.
        float presence = hashed.Count == 0 ? 0f : 1f / MathF.Sqrt(hashed.Count);
        Array.Fill(values, presence, 0, hashed.Count);

        int dense = 1 << hashBits;
        float length = prompt.Length;
        ReadOnlySpan<float> shape =
        [
            MathF.Log(1 + length) / 10f,
            MathF.Log(1 + words) / 8f,
            length == 0 ? 0 : digits / length * 10f,
            length == 0 ? 0 : symbols / length * 10f,
            MathF.Log(lines) / 3f,
            length == 0 ? 0 : upper / length * 10f,
            StemShare(prompt),
            1f, // a constant column lets the bias live in the weights too; harmless with an explicit bias
        ];
        for (int d = 0; d < DenseCount; d++)
        {
            indices[hashed.Count + d] = dense + d;
            values[hashed.Count + d] = shape[d];
        }
        return (indices, values);
    }

    /// <summary>Share of the prompt before a multiple-choice block ("\nA."), 1 when there is none.</summary>
    private static float StemShare(string prompt)
    {
        int options = prompt.IndexOf("\nA.", StringComparison.Ordinal);
        return options < 0 || prompt.Length == 0 ? 1f : (float)options / prompt.Length;
    }

    private static ulong Mix(ulong h)
    {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        return h;
    }

    internal static string Describe(int hashBits) =>
        string.Create(CultureInfo.InvariantCulture, $"hashed word 1-2 grams (2^{hashBits}) + {DenseCount} shape features");
}
