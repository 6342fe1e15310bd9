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

    public static string Lines(string path, string title, string xLabel, string yLabel, IReadOnlyList<(string Name, double[] X, double[] Y)> series)
    {
        var plot = new Plot();
        foreach ((string name, double[] x, double[] y) in series)
        {
            var s = plot.Add.Scatter(x, y);
            s.LegendText = name;
            s.MarkerSize = 7;
        }
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.SavePng(path, 900, 480);
        return path;
    }
}
