namespace LocalLlm.Eng;

/// <summary>
/// A weighted, L2-regularised logistic regression on dense features: full-batch Adam on standardised features
/// (300 steps), for the encoder heads the trainers fit on sentence embeddings. Deterministic.
/// </summary>
internal sealed class LogisticRegression
{
    private readonly double[] _w;
    private readonly double _b;
    private readonly double[] _mean;
    private readonly double[] _scale;

    private LogisticRegression(double[] w, double b, double[] mean, double[] scale)
    {
        _w = w;
        _b = b;
        _mean = mean;
        _scale = scale;
    }

    public double Score(IReadOnlyList<double> x)
    {
        double z = _b;
        for (int i = 0; i < _w.Length; i++) z += _w[i] * (x[i] - _mean[i]) * _scale[i];
        return 1 / (1 + Math.Exp(-z));
    }

    /// <summary>The model on raw (unstandardised) features: weight per feature and bias.</summary>
    public (double[] Weights, double Bias) Raw()
    {
        var w = new double[_w.Length];
        double b = _b;
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = _w[i] * _scale[i];
            b -= w[i] * _mean[i];
        }
        return (w, b);
    }

    /// <param name="x">Features per row.</param>
    /// <param name="y">Labels, 0 or 1.</param>
    /// <param name="weight">Row weights (any scale).</param>
    /// <param name="l2">L2 strength on the standardised weights.</param>
    public static LogisticRegression Fit(IReadOnlyList<double[]> x, IReadOnlyList<double> y, IReadOnlyList<double> weight, double l2)
    {
        int n = x.Count, f = x[0].Length;
        var mean = new double[f];
        var scale = new double[f];
        for (int i = 0; i < f; i++)
        {
            double m = 0;
            for (int k = 0; k < n; k++) m += x[k][i];
            m /= n;
            double v = 0;
            for (int k = 0; k < n; k++) v += (x[k][i] - m) * (x[k][i] - m);
            double sd = Math.Sqrt(v / n);
            mean[i] = m;
            scale[i] = sd > 1e-9 ? 1 / sd : 0;
        }
        var z = new double[n][];
        for (int k = 0; k < n; k++)
        {
            z[k] = new double[f];
            for (int i = 0; i < f; i++) z[k][i] = (x[k][i] - mean[i]) * scale[i];
        }
        double total = weight.Sum();
        var w = new double[f];
        double b = 0, mb = 0, vb = 0;
        var mw = new double[f];
        var vw = new double[f];
        var grad = new double[f];
        const double lr = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        for (int step = 1; step <= 300; step++)
        {
            Array.Clear(grad);
            double gb = 0;
            for (int k = 0; k < n; k++)
            {
                double s = b;
                var r = z[k];
                for (int i = 0; i < f; i++) s += w[i] * r[i];
                double g = ((1 / (1 + Math.Exp(-s))) - y[k]) * weight[k] / total;
                gb += g;
                for (int i = 0; i < f; i++) grad[i] += g * r[i];
            }
            double c1 = 1 - Math.Pow(b1, step), c2 = 1 - Math.Pow(b2, step);
            for (int i = 0; i < f; i++)
            {
                double gi = grad[i] + (l2 * w[i]);
                mw[i] = (b1 * mw[i]) + ((1 - b1) * gi);
                vw[i] = (b2 * vw[i]) + ((1 - b2) * gi * gi);
                w[i] -= lr * (mw[i] / c1) / (Math.Sqrt(vw[i] / c2) + eps);
            }
            mb = (b1 * mb) + ((1 - b1) * gb);
            vb = (b2 * vb) + ((1 - b2) * gb * gb);
            b -= lr * (mb / c1) / (Math.Sqrt(vb / c2) + eps);
        }
        return new LogisticRegression(w, b, mean, scale);
    }
}
