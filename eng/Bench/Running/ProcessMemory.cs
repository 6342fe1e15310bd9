using System.Globalization;

namespace LocalLlm.Bench.Running;

/// <summary>Resident memory of this process, from /proc/self/status (Linux).</summary>
internal static class ProcessMemory
{
    /// <summary>Peak resident set size (VmHWM), bytes.</summary>
    public static long PeakRssBytes() => Read("VmHWM:");

    /// <summary>Current resident set size (VmRSS), bytes.</summary>
    public static long CurrentRssBytes() => Read("VmRSS:");

    private static long Read(string key)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
            throw new PlatformNotSupportedException("Peak RSS is read from /proc/self/status, which only Linux has.");
        foreach (string line in File.ReadLines(status))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                string kb = line[key.Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException($"{status} has no {key} line.");
    }
}
