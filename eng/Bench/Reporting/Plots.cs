using ScottPlot;

namespace LocalLlm.Bench.Reporting;

/// <summary>PNG charts for the report (ScottPlot).</summary>
internal static class Plots
{
    public static string Bars(string path, string title, string yLabel, IReadOnlyList<string> labels, IReadOnlyList<double> values)
    {
        var plot = new Plot();
        double[] v = values.Select(x => double.IsNaN(x) ? 0 : x).ToArray();
        plot.Add.Bars(v);
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, labels.Count).Select(i => (double)i).ToArray(), labels.ToArray());
        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
        plot.YLabel(yLabel);
        plot.SavePng(path, 900, 480);
        return path;
    }

    /// <param name="fromZero">Start the y axis at zero and put x ticks exactly at the measured x values (1/2/4/8 streams), so ratios read off the picture.</param>
    public static string Lines(string path, string title, string xLabel, string yLabel, IReadOnlyList<(string Name, double[] X, double[] Y)> series, bool fromZero = false)
    {
        var plot = new Plot();
        foreach ((string name, double[] x, double[] y) in series)
        {
            var s = plot.Add.Scatter(x, y);
            s.LegendText = name;
            s.MarkerSize = 7;
        }
        if (fromZero && series.Count > 0)
        {
            double[] xs = series.SelectMany(s => s.X).Distinct().Order().ToArray();
            double top = series.SelectMany(s => s.Y).Where(y => !double.IsNaN(y)).DefaultIfEmpty(1).Max();
            plot.Axes.Bottom.SetTicks(xs, xs.Select(x => x.ToString("0")).ToArray());
            plot.Axes.SetLimits(0, xs[^1] + 0.5, 0, top * 1.15);
        }
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.SavePng(path, 900, 480);
        return path;
    }
}
