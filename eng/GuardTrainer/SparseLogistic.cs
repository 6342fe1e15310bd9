namespace LocalLlm.GuardTrainer;

/// <summary>
/// Weighted logistic regression over sparse features (hashed n-grams plus a few dense ones appended after them):
/// AdaGrad SGD with L2 on the touched weights, fixed seed, so a run is reproducible. Fits 30,000 windows in seconds.
/// </summary>
internal sealed class SparseLogistic
{
    private SparseLogistic(float[] weights, float bias)
    {
        Weights = weights;
        Bias = bias;
    }

    public float[] Weights { get; }

    public float Bias { get; }

    public double Score((int[] Index, float[] Value) x) => 1 / (1 + Math.Exp(-Logit(x)));

    public double Logit((int[] Index, float[] Value) x)
    {
        double z = Bias;
        for (int k = 0; k < x.Index.Length; k++)
            z += Weights[x.Index[k]] * x.Value[k];
        return z;
    }

    public static SparseLogistic Fit(IReadOnlyList<(int[] Index, float[] Value)> x, IReadOnlyList<double> y, IReadOnlyList<double> weight, int features,
        double l2, int epochs, double learningRate = 0.2, int seed = 1)
    {
        var w = new float[features];
        var g2 = new float[features];
        double bias = 0, gb2 = 0;
        double mw = weight.Average();
        int[] order = [.. Enumerable.Range(0, x.Count)];
        var rng = new Random(seed);
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            for (int i = order.Length - 1; i > 0; i--) { int j = rng.Next(i + 1); (order[i], order[j]) = (order[j], order[i]); }
            foreach (int n in order)
            {
                var (idx, val) = x[n];
                double z = bias;
                for (int k = 0; k < idx.Length; k++) z += w[idx[k]] * val[k];
                double g = ((1 / (1 + Math.Exp(-z))) - y[n]) * weight[n] / mw;
                for (int k = 0; k < idx.Length; k++)
                {
                    int j = idx[k];
                    float gj = (float)((g * val[k]) + (l2 * w[j]));
                    g2[j] += gj * gj;
                    w[j] -= (float)(learningRate * gj / Math.Sqrt(g2[j] + 1e-8));
                }
                gb2 += g * g;
                bias -= learningRate * g / Math.Sqrt(gb2 + 1e-8);
            }
        }
        return new SparseLogistic(w, (float)bias);
    }
}
