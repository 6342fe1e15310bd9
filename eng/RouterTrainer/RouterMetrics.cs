namespace LocalLlm.RouterTrainer;

/// <summary>Offline router quality on labelled rows (RouteLLM definitions).</summary>
/// <param name="Apgr">Average performance gap recovered over all strong-call shares.</param>
/// <param name="Cpt50">Smallest strong-call share that recovers 50% of the strong-weak gap.</param>
/// <param name="Cpt80">Smallest strong-call share that recovers 80% of the gap.</param>
/// <param name="SmallShareAt95">Largest share kept on the weak/small model while quality stays at least 95% of strong.</param>
internal sealed record RouterMetrics(double Apgr, double Cpt50, double Cpt80, double SmallShareAt95, double WeakAccuracy, double StrongAccuracy)
{
    /// <summary>
    /// Sends the highest-scoring k rows to the strong model for every k; rows with equal scores are routed in
    /// expectation (their gains averaged), so ties are not broken by input order.
    /// </summary>
    public static RouterMetrics Compute(IReadOnlyList<MmluRow> rows, IReadOnlyList<double> strongScores) =>
        Compute([.. rows.Select(r => (r.WeakCorrect ? 1.0 : 0, r.StrongCorrect ? 1.0 : 0))], strongScores);

    /// <summary>The same on any per-row quality of each model (correctness 0/1, or a judge's score such as MT-Bench's 1-10).</summary>
    public static RouterMetrics Compute(IReadOnlyList<(double Weak, double Strong)> rows, IReadOnlyList<double> strongScores)
    {
        int n = rows.Count;
        int[] order = [.. Enumerable.Range(0, n).OrderByDescending(i => strongScores[i])];
        double[] gain = new double[n];
        for (int start = 0; start < n;)
        {
            int end = start;
            double sum = 0;
            while (end < n && strongScores[order[end]] == strongScores[order[start]])
            {
                var r = rows[order[end]];
                sum += r.Strong - r.Weak;
                end++;
            }
            for (int k = start; k < end; k++) gain[k] = sum / (end - start);
            start = end;
        }

        double weak = rows.Average(r => r.Weak);
        double strong = rows.Average(r => r.Strong);
        double[] quality = new double[n + 1];
        quality[0] = weak;
        for (int k = 1; k <= n; k++) quality[k] = quality[k - 1] + (gain[k - 1] / n);

        // Area under quality(strong share) by the trapezoid rule over the n+1 cut points.
        double area = 0;
        for (int k = 1; k <= n; k++) area += (quality[k - 1] + quality[k]) / 2 / n;
        double gap = strong - weak;
        double apgr = (area - weak) / gap;

        double Cpt(double recovered)
        {
            for (int k = 0; k <= n; k++)
                if ((quality[k] - weak) / gap >= recovered - 1e-12) return k / (double)n;
            return 1;
        }
        double smallShare = 0;
        for (int k = 0; k <= n; k++)
        {
            if (quality[k] >= 0.95 * strong - 1e-12) { smallShare = 1 - (k / (double)n); break; }
        }
        return new RouterMetrics(apgr, Cpt(0.5), Cpt(0.8), smallShare, weak, strong);
    }
}
