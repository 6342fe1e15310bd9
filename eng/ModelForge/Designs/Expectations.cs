namespace LocalLlm.ModelForge;

/// <summary>What the copy design generates greedily.</summary>
public static class CopyDesign
{
    /// <summary>
    /// The greedy continuation: each new token equals the token <paramref name="lag"/> positions before it, so the
    /// output repeats the prompt's last <paramref name="lag"/> tokens cyclically. Generation through ONNX Runtime
    /// GenAI stops earlier if a copied token is an end token (&lt;|im_end|&gt; or &lt;|endoftext|&gt;); this method
    /// does not stop, see <see cref="ExpectedReply"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The prompt is shorter than the lag.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The lag is below 1 or the count is negative.</exception>
    public static int[] ExpectedContinuation(ReadOnlySpan<int> promptIds, int count, int lag)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lag, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (promptIds.Length < lag)
            throw new ArgumentException($"The copy design needs at least lag ({lag}) prompt tokens; got {promptIds.Length}.", nameof(promptIds));
        var sequence = new List<int>(promptIds.Length + count);
        sequence.AddRange(promptIds.ToArray());
        for (int i = 0; i < count; i++)
            sequence.Add(sequence[sequence.Count - lag]);
        return sequence.GetRange(promptIds.Length, count).ToArray();
    }

    /// <summary>The continuation up to (not including) the first end token, at most <paramref name="maxTokens"/> long:
    /// what a chat client returns.</summary>
    /// <exception cref="ArgumentException">The prompt is shorter than the lag.</exception>
    public static int[] ExpectedReply(ReadOnlySpan<int> promptIds, int maxTokens, int lag)
    {
        int[] all = ExpectedContinuation(promptIds, maxTokens, lag);
        int end = Array.FindIndex(all, t => ByteTokenizer.EosTokenIds.Contains(t));
        return end < 0 ? all : all[..end];
    }
}

/// <summary>What the successor design generates greedily.</summary>
public static class SuccessorDesign
{
    /// <summary>The next token: (token + 1) mod <see cref="DesignedModel.VocabSize"/>; 255 → 256 (&lt;|endoftext|&gt;,
    /// an end token), 260 → 0.</summary>
    public static int Next(int token) => (token + 1) % DesignedModel.VocabSize;

    /// <summary>The greedy continuation of a prompt (not stopping at end tokens).</summary>
    /// <exception cref="ArgumentException">The prompt is empty.</exception>
    public static int[] ExpectedContinuation(ReadOnlySpan<int> promptIds, int count)
    {
        if (promptIds.IsEmpty)
            throw new ArgumentException("The prompt must have at least one token.", nameof(promptIds));
        var result = new int[count];
        int last = promptIds[^1];
        for (int i = 0; i < count; i++)
            result[i] = last = Next(last);
        return result;
    }
}

/// <summary>The fixed next-token distribution of the fixed-distribution design.</summary>
public static class FixedDistribution
{
    /// <summary>The letters 'a'..'p' get logits 3.0, 2.75, ..., −0.75; the special tokens −30; every other token −8.
    /// All values are exact in fp16, so every precision returns them exactly.</summary>
    public static IReadOnlyList<float> Logits { get; } = CreateLogits();

    /// <summary>softmax(logits / temperature) over the whole vocabulary.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The temperature is not positive.</exception>
    public static double[] Probabilities(double temperature = 1.0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(temperature);
        double max = Logits.Max();
        double[] p = Logits.Select(l => Math.Exp((l - max) / temperature)).ToArray();
        double sum = p.Sum();
        for (int i = 0; i < p.Length; i++)
            p[i] /= sum;
        return p;
    }

    private static float[] CreateLogits()
    {
        var logits = new float[DesignedModel.VocabSize];
        Array.Fill(logits, -8f);
        for (int i = 0; i < 16; i++)
            logits['a' + i] = 3f - (0.25f * i);
        for (int id = ByteTokenizer.EndOfText; id < ByteTokenizer.BaseVocabSize; id++)
            logits[id] = -30f;
        return logits;
    }
}
