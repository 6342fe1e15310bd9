using System.Globalization;
using System.Runtime.InteropServices;

namespace LocalLlm.Bench.Running;

/// <summary>Resident memory of this process, from /proc/self/status (Linux).</summary>
internal static class ProcessMemory
{
    /// <summary>
    /// Where resident memory is, to tell a leak from warm-up: anonymous vs file-backed pages, the managed heap, compiled
    /// methods, and glibc's heap (bytes in use vs free but still mapped, which fragmentation leaves resident).
    /// </summary>
    public static string Breakdown()
    {
        static string MiB(long bytes) => (bytes / (1024.0 * 1024)).ToString("0", CultureInfo.InvariantCulture);
        string heap = "";
        try
        {
            var m = MallInfo2();
            heap = $", glibc heap {MiB((long)m.InUse)} in use + {MiB((long)m.Free)} free, {MiB((long)m.Mapped)} mmapped";
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { }
        return $"anon {MiB(Read("RssAnon:"))} + file {MiB(Read("RssFile:"))} MiB; managed committed {MiB(GC.GetGCMemoryInfo().TotalCommittedBytes)} MiB; " +
            $"{System.Runtime.JitInfo.GetCompiledMethodCount()} methods compiled{heap}";
    }

    /// <summary>glibc's struct mallinfo2, the fields read here named (arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct Mallinfo2(nuint Arena, nuint Ordblks, nuint Smblks, nuint Hblks, nuint Mapped, nuint Usmblks, nuint Fsmblks, nuint InUse, nuint Free, nuint Keepcost);

    [DllImport("libc.so.6", EntryPoint = "mallinfo2")] // returns a struct by value, which LibraryImport would need unsafe code for
    private static extern Mallinfo2 MallInfo2();

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
