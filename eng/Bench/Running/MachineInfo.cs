using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;

namespace LocalLlm.Bench.Running;

/// <summary>The machine a report was measured on.</summary>
internal sealed record MachineInfo(
    string Cpu, int Cores, long MemoryBytes, double CopyBandwidthGBps, string Os, string Dotnet,
    string OrtGenAI, string Ort, string? CudaUnavailableReason, string LoadAverage)
{
    public static MachineInfo Probe()
    {
        string cpu = "unknown";
        if (File.Exists("/proc/cpuinfo"))
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
            string? flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
            if (flags is not null)
            {
                string[] interesting = ["avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile"];
                var has = interesting.Where(f => flags.Split(' ').Contains(f)).ToArray();
                if (has.Length > 0)
                    cpu += $" ({string.Join(", ", has)})";
            }
        }
        long memory = 0;
        if (File.Exists("/proc/meminfo"))
        {
            string? total = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            if (total is not null)
                memory = long.Parse(total.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        return new MachineInfo(cpu, Environment.ProcessorCount, memory, ProbeCopyBandwidth(), RuntimeInformation.OSDescription,
            RuntimeInformation.FrameworkDescription, PackageVersion("Microsoft.ML.OnnxRuntimeGenAI"), PackageVersion("Microsoft.ML.OnnxRuntime"), CudaUnavailable(),
            File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown");
    }

    /// <summary>Why the CUDA execution provider cannot run here, or null when it might.</summary>
    public static string? CudaUnavailable()
    {
        if (!NativeLibrary.TryLoad("libcuda.so.1", out IntPtr handle))
            return "no NVIDIA driver: libcuda.so.1 cannot be loaded";
        NativeLibrary.Free(handle);
        string dir = AppContext.BaseDirectory;
        bool cudaProvider = Directory.EnumerateFiles(dir, "libonnxruntime_providers_cuda.so", SearchOption.AllDirectories).Any();
        return cudaProvider ? null : "the bench was built with the CPU runtime; rebuild with -p:LocalLlmRuntime=cuda";
    }

    // Copies a 256 MiB buffer a few times; best-of to dodge noisy neighbours. Read + write bytes counted.
    private static double ProbeCopyBandwidth()
    {
        const int size = 256 * 1024 * 1024;
        byte[] a = GC.AllocateUninitializedArray<byte>(size), b = GC.AllocateUninitializedArray<byte>(size);
        a.AsSpan().Fill(1);
        b.AsSpan().Fill(2);
        double best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            long start = Stopwatch.GetTimestamp();
            a.AsSpan().CopyTo(b);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return 2.0 * size / best / 1e9;
    }

    // The native runtimes carry no managed version; the restored package versions are in the bench's deps.json.
    private static string PackageVersion(string package)
    {
        string deps = Path.Combine(AppContext.BaseDirectory, $"{Assembly.GetEntryAssembly()?.GetName().Name}.deps.json");
        if (File.Exists(deps))
        {
            foreach (string line in File.ReadLines(deps))
            {
                int i = line.IndexOf($"\"{package}/", StringComparison.Ordinal);
                if (i >= 0)
                    return line[(i + package.Length + 2)..].Split('"')[0];
            }
        }
        return "unknown";
    }

    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine("| machine | |");
        sb.AppendLine("| --- | --- |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| CPU | {Cpu} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| cores (logical) | {Cores} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| memory | {MemoryBytes / (1024.0 * 1024 * 1024):0.0} GiB |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| memory copy bandwidth (256 MiB, best of 5, read+write) | {CopyBandwidthGBps:0.0} GB/s |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| load average at start (1, 5, 15 min) | {LoadAverage} (other processes share these cores; ratios within a run are fair, absolute rates are pessimistic) |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| OS | {Os} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| .NET | {Dotnet} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| ONNX Runtime GenAI | {OrtGenAI} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| ONNX Runtime | {Ort} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| CUDA | {CudaUnavailableReason ?? "available"} |");
        return sb.ToString();
    }
}
