namespace LocalLlm.Bench.Running;

/// <summary>Median and 95th percentile of repeated measurements.</summary>
internal sealed record Summary(double Median, double P95, int Count)
{
    public static Summary Of(IEnumerable<double> values)
    {
        double[] sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0)
            return new Summary(double.NaN, double.NaN, 0);
        return new Summary(Percentile(sorted, 0.5), Percentile(sorted, 0.95), sorted.Length);
    }

    // Linear interpolation between closest ranks (the definition numpy uses by default).
    private static double Percentile(double[] sorted, double q)
    {
        double rank = q * (sorted.Length - 1);
        int low = (int)Math.Floor(rank), high = (int)Math.Ceiling(rank);
        return sorted[low] + ((sorted[high] - sorted[low]) * (rank - low));
    }
}
