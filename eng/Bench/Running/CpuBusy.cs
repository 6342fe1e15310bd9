using System.Globalization;

namespace LocalLlm.Bench.Running;

/// <summary>
/// How busy the machine is right now, from /proc/stat over a short window. The load average lags by minutes (a build
/// that just ended still shows), so the bench decides on what the cores are doing now, not on the load average.
/// </summary>
internal static class CpuBusy
{
    /// <summary>Cores' worth of work other processes did during the window (0 = idle, 2 = both cores busy).</summary>
    public static double? BusyCores(TimeSpan window)
    {
        if (Read() is not { } before)
            return null;
        Thread.Sleep(window);
        if (Read() is not { } after)
            return null;
        double total = after.Total - before.Total, idle = after.Idle - before.Idle;
        return total <= 0 ? 0 : (total - idle) / total * Environment.ProcessorCount;
    }

    private static (double Total, double Idle)? Read()
    {
        if (!File.Exists("/proc/stat"))
            return null;
        string? cpu = File.ReadLines("/proc/stat").FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal));
        if (cpu is null)
            return null;
        double[] v = [.. cpu.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(x => double.Parse(x, CultureInfo.InvariantCulture))];
        return (v.Sum(), v[3] + (v.Length > 4 ? v[4] : 0)); // idle + iowait
    }
}
