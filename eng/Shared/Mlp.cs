using System.Numerics;

namespace LocalLlm.Eng;

/// <summary>
/// A one-hidden-layer perceptron (ReLU, sigmoid output) with weighted log loss: mini-batch Adam on standardised
/// features, fixed seed. For encoder heads where a linear model is too weak. Deterministic.
/// </summary>
internal sealed class Mlp
{
    private readonly float[][] _w1; // [hidden][features]
    private readonly float[] _b1;
    private readonly float[] _w2;
    private readonly float _b2;
    private readonly float[] _mean;
    private readonly float[] _scale;

    private Mlp(float[][] w1, float[] b1, float[] w2, float b2, float[] mean, float[] scale)
    {
        _w1 = w1;
        _b1 = b1;
        _w2 = w2;
        _b2 = b2;
        _mean = mean;
        _scale = scale;
    }

    public double Score(IReadOnlyList<double> x)
    {
        var z = new float[_mean.Length];
        for (int i = 0; i < z.Length; i++) z[i] = (float)((x[i] - _mean[i]) * _scale[i]);
        double o = _b2;
        for (int h = 0; h < _w1.Length; h++)
        {
            float a = Dot(_w1[h], z) + _b1[h];
            if (a > 0) o += _w2[h] * a;
        }
        return 1 / (1 + Math.Exp(-o));
    }

    /// <summary>The layers on raw features: first-layer weights already divided by the features' spread, biases shifted by their means.</summary>
    public (float[][] W1, float[] B1, float[] W2, float B2) Raw()
    {
        var w1 = new float[_w1.Length][];
        var b1 = new float[_b1.Length];
        for (int h = 0; h < _w1.Length; h++)
        {
            w1[h] = new float[_mean.Length];
            double b = _b1[h];
            for (int i = 0; i < _mean.Length; i++)
            {
                w1[h][i] = _w1[h][i] * _scale[i];
                b -= w1[h][i] * _mean[i];
            }
            b1[h] = (float)b;
        }
        return (w1, b1, [.. _w2], _b2);
    }

    public static Mlp Fit(IReadOnlyList<double[]> x, IReadOnlyList<double> y, IReadOnlyList<double> weight, int hidden, double weightDecay, int epochs, int seed = 1)
    {
        int n = x.Count, f = x[0].Length;
        var mean = new float[f];
        var scale = new float[f];
        for (int i = 0; i < f; i++)
        {
            double m = 0, v = 0;
            for (int k = 0; k < n; k++) m += x[k][i];
            m /= n;
            for (int k = 0; k < n; k++) v += (x[k][i] - m) * (x[k][i] - m);
            double sd = Math.Sqrt(v / n);
            mean[i] = (float)m;
            scale[i] = sd > 1e-9 ? (float)(1 / sd) : 0;
        }
        var z = new float[n][];
        for (int k = 0; k < n; k++)
        {
            z[k] = new float[f];
            for (int i = 0; i < f; i++) z[k][i] = (float)((x[k][i] - mean[i]) * scale[i]);
        }
        double mw = weight.Average();
        var rng = new Random(seed);
        var w1 = new float[hidden][];
        double init = Math.Sqrt(2.0 / f);
        for (int h = 0; h < hidden; h++)
        {
            w1[h] = new float[f];
            for (int i = 0; i < f; i++) w1[h][i] = (float)(Gaussian(rng) * init);
        }
        var b1 = new float[hidden];
        var w2 = new float[hidden];
        for (int h = 0; h < hidden; h++) w2[h] = (float)(Gaussian(rng) * Math.Sqrt(1.0 / hidden));
        float b2 = 0;

        // Adam state.
        var m1 = new float[hidden][]; var v1 = new float[hidden][];
        for (int h = 0; h < hidden; h++) { m1[h] = new float[f]; v1[h] = new float[f]; }
        var mb1 = new float[hidden]; var vb1 = new float[hidden];
        var m2 = new float[hidden]; var v2 = new float[hidden];
        float mb2 = 0, vb2 = 0;
        const float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
        const int batch = 64;
        var g1 = new float[hidden][];
        for (int h = 0; h < hidden; h++) g1[h] = new float[f];
        var gb1 = new float[hidden];
        var g2 = new float[hidden];
        var act = new float[hidden];
        int[] order = [.. Enumerable.Range(0, n)];
        int t = 0;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            for (int i = n - 1; i > 0; i--) { int j = rng.Next(i + 1); (order[i], order[j]) = (order[j], order[i]); }
            for (int start = 0; start < n; start += batch)
            {
                int end = Math.Min(n, start + batch);
                foreach (var g in g1) Array.Clear(g);
                Array.Clear(gb1); Array.Clear(g2);
                float gb2 = 0;
                for (int p = start; p < end; p++)
                {
                    int k = order[p];
                    var r = z[k];
                    double o = b2;
                    for (int h = 0; h < hidden; h++)
                    {
                        float a = Dot(w1[h], r) + b1[h];
                        act[h] = a > 0 ? a : 0;
                        o += w2[h] * act[h];
                    }
                    float d = (float)(((1 / (1 + Math.Exp(-o))) - y[k]) * weight[k] / mw / (end - start));
                    gb2 += d;
                    for (int h = 0; h < hidden; h++)
                    {
                        g2[h] += d * act[h];
                        if (act[h] > 0)
                        {
                            float dh = d * w2[h];
                            gb1[h] += dh;
                            Axpy(dh, r, g1[h]);
                        }
                    }
                }
                t++;
                float c1 = 1 - MathF.Pow(beta1, t), c2 = 1 - MathF.Pow(beta2, t);
                for (int h = 0; h < hidden; h++)
                {
                    var wr = w1[h]; var gr = g1[h]; var mr = m1[h]; var vr = v1[h];
                    for (int i = 0; i < f; i++)
                    {
                        float gi = gr[i] + ((float)weightDecay * wr[i]);
                        mr[i] = (beta1 * mr[i]) + ((1 - beta1) * gi);
                        vr[i] = (beta2 * vr[i]) + ((1 - beta2) * gi * gi);
                        wr[i] -= lr * (mr[i] / c1) / (MathF.Sqrt(vr[i] / c2) + eps);
                    }
                    Step(ref b1[h], gb1[h], ref mb1[h], ref vb1[h]);
                    Step(ref w2[h], g2[h] + ((float)weightDecay * w2[h]), ref m2[h], ref v2[h]);
                }
                Step(ref b2, gb2, ref mb2, ref vb2);

                void Step(ref float w, float g, ref float m, ref float v)
                {
                    m = (beta1 * m) + ((1 - beta1) * g);
                    v = (beta2 * v) + ((1 - beta2) * g * g);
                    w -= lr * (m / c1) / (MathF.Sqrt(v / c2) + eps);
                }
            }
        }
        return new Mlp(w1, b1, w2, b2, mean, scale);
    }

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static float Dot(float[] a, float[] b)
    {
        int i = 0;
        var acc = Vector<float>.Zero;
        for (; i <= a.Length - Vector<float>.Count; i += Vector<float>.Count)
            acc += new Vector<float>(a, i) * new Vector<float>(b, i);
        float s = Vector.Dot(acc, Vector<float>.One);
        for (; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    private static void Axpy(float alpha, float[] x, float[] y)
    {
        int i = 0;
        var va = new Vector<float>(alpha);
        for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            (new Vector<float>(y, i) + (va * new Vector<float>(x, i))).CopyTo(y, i);
        for (; i < x.Length; i++) y[i] += alpha * x[i];
    }
}
