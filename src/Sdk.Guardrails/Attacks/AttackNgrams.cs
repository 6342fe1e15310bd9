namespace LocalLlm.Guardrails.Attacks;

/// <summary>
/// Hashed n-gram features of a text for the v2 prompt-attack classifier: lower-cased word unigrams and bigrams and
/// character 4-grams (FNV-1a into <see cref="Buckets"/> buckets), log(1 + count) per bucket, each family L2-normalised;
/// optionally <see cref="AttackCues"/>' structural cues in the same buckets.
/// The same code runs at training (eng/GuardTrainer) and at inference, so the features cannot drift apart.
/// </summary>
internal static class AttackNgrams
{
    /// <summary>The number of hash buckets (weights) the n-grams fall into.</summary>
    public const int Buckets = 1 << 18;

    /// <summary>What a structural cue's log(1 + count) is multiplied by (1 beat 0.5 and 0.25 in leave-one-source-out).</summary>
    private const float CueScale = 1f;

    /// <summary>Returns the non-zero features of <paramref name="text"/> as parallel index and value arrays.</summary>
    /// <param name="text">The text.</param>
    /// <param name="cues">Adds <see cref="AttackCues"/>' structural cues (a family of their own, not normalised).</param>
    public static (int[] Index, float[] Value) Features(string text, bool cues)
    {
        string t = AttackText.Collapse(text, 8192, lowerCase: true);
        var structure = new Dictionary<int, float>();
        if (cues)
            AttackCues.Extract(AttackText.Collapse(text, 8192, lowerCase: false), (name, v) => structure[(int)(Hash(name, 0x3C5E) % Buckets)] = CueScale * v);
        var words = new Dictionary<int, int>();
        var chars = new Dictionary<int, int>();
        int prev = -1, start = -1;
        for (int i = 0; i <= t.Length; i++)
        {
            bool boundary = i == t.Length || !char.IsLetterOrDigit(t[i]);
            if (!boundary)
            {
                if (start < 0)
                    start = i;
                continue;
            }
            if (start >= 0)
            {
                uint h = Hash(t.AsSpan(start, i - start), 0x9E37);
                Add(words, (int)(h % Buckets));
                if (prev >= 0)
                    Add(words, (int)((((uint)prev * 31) ^ h ^ 0x51ED) % Buckets));
                prev = (int)(h & 0x7FFFFFFF);
                start = -1;
            }
            // Punctuation and symbols count as words of their own (delimiter junk, role markers, "###").
            if (i < t.Length && t[i] != ' ')
                Add(words, (int)(Hash(t.AsSpan(i, 1), 0x7F4A) % Buckets));
        }
        string padded = " " + t + " ";
        for (int i = 0; i + 4 <= padded.Length; i++)
            Add(chars, (int)(Hash(padded.AsSpan(i, 4), 0x2C1B) % Buckets));

        var index = new int[words.Count + chars.Count + structure.Count];
        var value = new float[index.Length];
        int n = 0;
        foreach (var (bucket, v) in structure)
        {
            index[n] = bucket;
            value[n++] = v;
        }
        foreach (var family in new[] { words, chars })
        {
            double norm = 0;
            foreach (int c in family.Values)
                norm += Math.Log(1 + c) * Math.Log(1 + c);
            double inv = norm > 0 ? 1 / Math.Sqrt(norm) : 0;
            foreach (var (bucket, count) in family)
            {
                index[n] = bucket;
                value[n++] = (float)(Math.Log(1 + count) * inv);
            }
        }
        return (index, value);

        static void Add(Dictionary<int, int> d, int bucket) => d[bucket] = d.GetValueOrDefault(bucket) + 1;
    }

    private static uint Hash(ReadOnlySpan<char> s, uint seed)
    {
        uint h = 2166136261 ^ seed;
        foreach (char c in s)
            h = (h ^ c) * 16777619;
        return h;
    }
}
