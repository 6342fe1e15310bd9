using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;

namespace LocalLlm.Bench.Running;

/// <summary>The machine a report was measured on.</summary>
internal sealed record MachineInfo(
    string Cpu, int Cores, long MemoryBytes, double CopyBandwidthGBps, string Os, string Dotnet,
    string OrtGenAI, string Ort, string? CudaUnavailableReason, string LoadAverage)
{
    /// <summary>Why the machine was not quiet when the run started (measured from /proc/stat), or null when it was.</summary>
    public string? BusyAtStart { get; init; }

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

    /// <summary>Why the CUDA execution provider cannot run here (every missing piece, by name), or null when all are present.</summary>
    public static string? CudaUnavailable()
    {
        // What ONNX Runtime's CUDA provider loads, in the order a user installs them.
        (string Library, string What)[] needed =
        [
            ("libcuda.so.1", "the NVIDIA driver"),
            ("libcudart.so.12", "the CUDA 12 runtime"),
            ("libcublas.so.12", "cuBLAS 12"),
            ("libcudnn.so.9", "cuDNN 9"),
        ];
        var missing = needed.Where(n => !CanLoad(n.Library)).Select(n => $"{n.What} ({n.Library} cannot be loaded)").ToList();
        bool provider = Directory.EnumerateFiles(AppContext.BaseDirectory, "libonnxruntime_providers_cuda.so", SearchOption.AllDirectories).Any();
        if (!provider)
            missing.Add("the CUDA runtime package (libonnxruntime_providers_cuda.so is not in the bench's output: add Microsoft.ML.OnnxRuntimeGenAI.Cuda and build with -p:LocalLlmRuntime=cuda)");
        return missing.Count == 0 ? null : "missing " + string.Join("; ", missing);
    }

    private static bool CanLoad(string library)
    {
        if (!NativeLibrary.TryLoad(library, out IntPtr handle))
            return false;
        NativeLibrary.Free(handle);
        return true;
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
        sb.AppendLine(CultureInfo.InvariantCulture, $"| load average at start (1, 5, 15 min) | {LoadAverage} (lags by minutes; the bench checks the cores' use over 3 s instead: {BusyAtStart ?? "quiet"}) |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| OS | {Os} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| .NET | {Dotnet} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| ONNX Runtime GenAI | {OrtGenAI} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| ONNX Runtime | {Ort} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| CUDA | {CudaUnavailableReason ?? "available"} |");
        return sb.ToString();
    }
}
