namespace LocalLlm;

/// <summary>
/// Picks one batch row's next token from its logits, as ORT GenAI's CPU sampler does for one generator: repetition
/// penalty on tokens already in the sequence (prompt included; a logit below zero is multiplied, one above divided),
/// end tokens masked until <see cref="GenerationSettings.MinOutputTokens"/> are out, then greedy argmax, or top-k by
/// logit, softmax at the temperature, the top-p nucleus (the token that crosses p is kept), renormalised and drawn.
/// Each row has its own random stream, seeded by the request's seed when it has one, so a seeded request is
/// reproducible whatever else shares its batch.
/// </summary>
internal sealed class RowSampler
{
    private readonly GenerationSettings _settings;
    private readonly IReadOnlyList<int> _eos;
    private readonly Random? _random;
    private readonly HashSet<int>? _seen;
    private double[] _weights = [];

    public RowSampler(GenerationSettings settings, IReadOnlyList<int> eosTokenIds, ReadOnlySpan<int> prompt)
    {
        _settings = settings;
        _eos = eosTokenIds;
        if (settings.DoSample) _random = settings.Seed is { } seed ? new Random(unchecked((int)seed ^ (int)(seed >> 32))) : new Random();
        if (settings.RepetitionPenalty is { } rp && rp != 1)
        {
            _seen = [];
            foreach (int t in prompt) _seen.Add(t);
        }
    }

    /// <summary>The next token from <paramref name="logits"/> (modified in place) after <paramref name="generated"/> output tokens.</summary>
    public int Next(Span<float> logits, int generated)
    {
        if (_seen is not null)
        {
            float penalty = (float)_settings.RepetitionPenalty!.Value;
            foreach (int t in _seen)
                if ((uint)t < (uint)logits.Length) logits[t] = logits[t] < 0 ? logits[t] * penalty : logits[t] / penalty;
        }
        if (_settings.MinOutputTokens is { } min && generated < min)
            foreach (int e in _eos)
                if ((uint)e < (uint)logits.Length) logits[e] = float.NegativeInfinity;

        int token = _random is null ? ArgMax(logits) : Sample(logits);
        _seen?.Add(token);
        return token;
    }

    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }

    private int Sample(ReadOnlySpan<float> logits)
    {
        double temperature = _settings.Temperature is { } t && t > 0 ? t : 1.0;
        double nucleus = _settings.TopP is { } topP && topP < 1 ? topP : 1;
        int k = _settings.TopK is { } topK && topK > 0 ? Math.Min(topK, logits.Length) : logits.Length;
        if (k < logits.Length) return SampleTopK(logits, k, temperature, nucleus);

        // The whole vocabulary: weights exp((l - max) / T), no sort (a full sort per token would cost more than a decode step).
        float max = float.NegativeInfinity;
        foreach (float l in logits) max = Math.Max(max, l);
        if (_weights.Length < logits.Length) _weights = new double[logits.Length];
        var w = _weights.AsSpan(0, logits.Length);
        double sum = 0;
        for (int i = 0; i < w.Length; i++) sum += w[i] = Math.Exp((logits[i] - max) / temperature);
        if (nucleus >= 1) return Draw(w, sum, threshold: 0);

        // The nucleus is the prefix of tokens by falling weight whose mass first reaches p: every token of weight ≥ τ is
        // in a sorted prefix, so halve τ until those tokens hold p of the mass, then sort only them.
        double tau = 1;
        while (true)
        {
            double mass = 0;
            foreach (double x in w) if (x >= tau) mass += x;
            if (mass >= nucleus * sum || tau < 1e-300) break;
            tau /= 2;
        }
        var top = new List<(int Token, double Weight)>();
        for (int i = 0; i < w.Length; i++) if (w[i] >= tau) top.Add((i, w[i]));
        top.Sort(static (a, b) => a.Weight != b.Weight ? b.Weight.CompareTo(a.Weight) : a.Token.CompareTo(b.Token));
        return DrawNucleus(top, sum, nucleus);
    }

    /// <summary>Top-k by logit (a heap of k), then softmax at the temperature and the nucleus among them.</summary>
    private int SampleTopK(ReadOnlySpan<float> logits, int k, double temperature, double nucleus)
    {
        var heap = new PriorityQueue<int, (float Logit, int NegToken)>(k + 1);
        for (int i = 0; i < logits.Length; i++)
        {
            var priority = (logits[i], -i); // the smallest logit (then the highest id) leaves first
            if (heap.Count < k) heap.Enqueue(i, priority);
            else if (heap.TryPeek(out _, out var least) && Compare(priority, least) > 0) heap.EnqueueDequeue(i, priority);
        }
        var top = new List<(int Token, double Weight)>(k);
        while (heap.TryDequeue(out int token, out _)) top.Add((token, logits[token]));
        top.Reverse(); // highest logit first
        double max = top[0].Weight, sum = 0;
        for (int i = 0; i < top.Count; i++)
        {
            double w = Math.Exp((top[i].Weight - max) / temperature);
            top[i] = (top[i].Token, w);
            sum += w;
        }
        return DrawNucleus(top, sum, nucleus);

        static int Compare((float Logit, int NegToken) a, (float Logit, int NegToken) b) =>
            a.Logit != b.Logit ? a.Logit.CompareTo(b.Logit) : a.NegToken.CompareTo(b.NegToken);
    }

    /// <summary>Keeps the sorted tokens until their mass reaches <paramref name="nucleus"/> of <paramref name="sum"/> (the crossing one included) and draws among them.</summary>
    private int DrawNucleus(List<(int Token, double Weight)> sorted, double sum, double nucleus)
    {
        int keep = sorted.Count;
        if (nucleus < 1)
        {
            double cumulative = 0;
            for (int i = 0; i < sorted.Count; i++)
            {
                cumulative += sorted[i].Weight / sum;
                if (cumulative >= nucleus) { keep = i + 1; break; }
            }
        }
        double total = 0;
        for (int i = 0; i < keep; i++) total += sorted[i].Weight;
        double draw = _random!.NextDouble() * total;
        for (int i = 0; i < keep; i++)
        {
            draw -= sorted[i].Weight;
            if (draw < 0) return sorted[i].Token;
        }
        return sorted[keep - 1].Token;
    }

    private int Draw(ReadOnlySpan<double> weights, double sum, double threshold)
    {
        double draw = _random!.NextDouble() * sum;
        int last = 0;
        for (int i = 0; i < weights.Length; i++)
        {
            if (weights[i] <= threshold) continue;
            last = i;
            draw -= weights[i];
            if (draw < 0) return i;
        }
        return last;
    }
}
