using System.Globalization;

namespace LocalLlm.Routing.Classifier;

/// <summary>
/// Turns a prompt into a sparse feature vector (featurizer version 2): hashed word unigrams and bigrams, with the words
/// of a multiple-choice block ("\nA." onwards) hashed apart from the question's; hashed character 4-grams; coarse
/// buckets of the prompt's shape (lengths, digit and formula density, the answer options' count, length and kind),
/// hashed as tokens so a linear model can weigh them non-linearly; and a few dense shape features. Each hashed block
/// is scaled by its own 1/sqrt(count), so a long option list does not drown the question. The trainer
/// (eng/RouterTrainer) featurizes with this exact code, so the shipped weights line up.
/// </summary>
internal static class PromptFeaturizer
{
    /// <summary>Number of dense features stored after the hashed block.</summary>
    public const int DenseCount = 8;

    /// <summary>Weight of the character 4-gram block relative to the word blocks (chosen by cross-validation).</summary>
    internal const float CharScale = 0.7f;

    /// <summary>Weight of the shape-bucket block relative to the word blocks (chosen by cross-validation).</summary>
    internal const float BucketScale = 0.5f;

    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;
    private const ulong OptionWordSeed = 0x51ED270B27A1F3C5UL;
    private const ulong CharSeed = 0xC2B2AE3D27D4EB4FUL;
    private const ulong BucketSeed = 0x165667B19E3779F9UL;

    public static int Dimension(int hashBits) => (1 << hashBits) + DenseCount;

    /// <summary>Sorted, distinct indices with their values.</summary>
    public static (int[] Indices, float[] Values) Featurize(string prompt, int hashBits)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        int mask = (1 << hashBits) - 1;
        int optionsAt = prompt.IndexOf("\nA.", StringComparison.Ordinal);
        var stemWords = new HashSet<int>();
        var optionWords = new HashSet<int>();
        ulong previous = 0;
        bool hasPrevious = false;
        int words = 0, digits = 0, symbols = 0, lines = 1, upper = 0;
        int i = 0;
        while (i < prompt.Length)
        {
            char c = prompt[i];
            if (char.IsLetterOrDigit(c))
            {
                // One word: fold to lower case while hashing, no string allocation. Option words get their own seed.
                bool inOptions = optionsAt >= 0 && i > optionsAt;
                HashSet<int> target = inOptions ? optionWords : stemWords;
                ulong h = inOptions ? OptionWordSeed : FnvOffset;
                while (i < prompt.Length && char.IsLetterOrDigit(prompt[i]))
                {
                    char w = prompt[i];
                    if (char.IsDigit(w)) digits++;
                    if (char.IsUpper(w)) upper++;
                    h = (h ^ char.ToLowerInvariant(w)) * FnvPrime;
                    i++;
                }
                words++;
                target.Add((int)(Mix(h) & (uint)mask));
                if (hasPrevious)
                    target.Add((int)(Mix((previous * 31) ^ h ^ 0x9E3779B97F4A7C15UL) & (uint)mask));
                previous = h;
                hasPrevious = true;
                continue;
            }
            if (c == '\n') lines++;
            else if (!char.IsWhiteSpace(c) && c != '.' && c != ',' && c != '?') symbols++;
            i++;
        }

        var chars = new HashSet<int>();
        for (int k = 0; k + 4 <= prompt.Length; k++)
        {
            ulong h = CharSeed;
            for (int j = 0; j < 4; j++)
                h = (h ^ char.ToLowerInvariant(prompt[k + j])) * FnvPrime;
            chars.Add((int)(Mix(h) & (uint)mask));
        }

        var buckets = new HashSet<int>();
        AddShapeBuckets(prompt, optionsAt, buckets, mask);

        // Presence features, scaled per block so long and short prompts weigh alike; colliding indices add up.
        var merged = new Dictionary<int, float>(stemWords.Count + optionWords.Count + chars.Count + buckets.Count);
        AddBlock(merged, stemWords, 1f);
        AddBlock(merged, optionWords, 1f);
        AddBlock(merged, chars, CharScale);
        AddBlock(merged, buckets, BucketScale);

        int hashedCount = merged.Count;
        int[] indices = new int[hashedCount + DenseCount];
        float[] values = new float[indices.Length];
        merged.Keys.CopyTo(indices, 0);
        Array.Sort(indices, 0, hashedCount);
        for (int k = 0; k < hashedCount; k++)
            values[k] = merged[indices[k]];

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
            StemShare(optionsAt, prompt.Length),
            1f, // a constant column lets the bias live in the weights too; harmless with an explicit bias
        ];
        for (int d = 0; d < DenseCount; d++)
        {
            indices[hashedCount + d] = dense + d;
            values[hashedCount + d] = shape[d];
        }
        return (indices, values);
    }

    private static void AddBlock(Dictionary<int, float> merged, HashSet<int> block, float scale)
    {
        if (block.Count == 0) return;
        float value = scale / MathF.Sqrt(block.Count);
        foreach (int index in block)
            merged[index] = merged.GetValueOrDefault(index) + value;
    }

    /// <summary>
    /// Log-spaced buckets of the prompt's shape, each hashed as a (name, bucket) token: lengths of the prompt, question
    /// and options; digits (all, in the options); formula characters; lines; and for a multiple-choice block the number
    /// of options, their mean length, how many are purely numeric, and the spread of their lengths.
    /// </summary>
    private static void AddShapeBuckets(string prompt, int optionsAt, HashSet<int> buckets, int mask)
    {
        ReadOnlySpan<char> options = optionsAt < 0 ? [] : prompt.AsSpan(optionsAt);
        int stemLength = optionsAt < 0 ? prompt.Length : optionsAt;
        int digits = 0, optionDigits = 0, formula = 0, newlines = 0;
        for (int k = 0; k < prompt.Length; k++)
        {
            char c = prompt[k];
            if (char.IsDigit(c))
            {
                digits++;
                if (optionsAt >= 0 && k >= optionsAt) optionDigits++;
            }
            if ("=+-*/^$\\()<>{}[]|".Contains(c)) formula++;
            if (c == '\n') newlines++;
        }
        Add("len", Log2(prompt.Length));
        Add("stem", Log2(stemLength));
        Add("opts", Log2(options.Length));
        Add("digits", Log2(digits));
        Add("optdigits", Log2(optionDigits));
        Add("math", Log2(formula));
        Add("lines", Log2(newlines));

        // Option lines: "X." with X in A-J, then text (the trailing "Answer:" line is not one).
        int count = 0, totalLength = 0, numeric = 0, shortest = int.MaxValue, longest = 0;
        foreach (Range range in options.Split('\n'))
        {
            ReadOnlySpan<char> line = options[range];
            if (line.Length <= 2 || line[1] != '.' || line[0] is < 'A' or > 'J') continue;
            count++;
            totalLength += line.Length;
            shortest = Math.Min(shortest, line.Length);
            longest = Math.Max(longest, line.Length);
            ReadOnlySpan<char> text = line[2..].Trim();
            if (text.Length > 0 && IsNumeric(text)) numeric++;
        }
        Add("nopt", count);
        if (count > 0)
        {
            Add("optlen", Log2((double)totalLength / count));
            Add("numeric", numeric);
            Add("optspread", Log2(longest - shortest));
        }

        void Add(string name, int bucket)
        {
            ulong h = BucketSeed;
            foreach (char c in name)
                h = (h ^ c) * FnvPrime;
            h = (h ^ (ulong)(bucket + 1000)) * FnvPrime;
            buckets.Add((int)(Mix(h) & (uint)mask));
        }
    }

    private static bool IsNumeric(ReadOnlySpan<char> text)
    {
        foreach (char c in text)
            if (!char.IsDigit(c) && !" .,-/%$^()√πx".Contains(c)) return false;
        return true;
    }

    private static int Log2(double x) => x <= 0 ? -1 : (int)Math.Floor(Math.Log2(x + 1));

    /// <summary>Share of the prompt before a multiple-choice block ("\nA."), 1 when there is none.</summary>
    private static float StemShare(int optionsAt, int length) =>
        optionsAt < 0 || length == 0 ? 1f : (float)optionsAt / length;

    private static ulong Mix(ulong h)
    {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        return h;
    }

    internal static string Describe(int hashBits) =>
        string.Create(CultureInfo.InvariantCulture,
            $"featurizer v2: hashed word 1-2 grams (options hashed apart) + char 4-grams x{CharScale} + shape buckets x{BucketScale} (2^{hashBits}) + {DenseCount} shape features");
}
