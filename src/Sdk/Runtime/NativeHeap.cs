using System.Runtime.InteropServices;

namespace LocalLlm;

/// <summary>
/// Keeps the native heap from growing over weeks of distinct requests on Linux with glibc. ORT GenAI allocates each
/// generator's KV buffer, logits and inputs with malloc; glibc serves blocks above its mmap threshold with mmap, but
/// after the first such block is freed it raises the threshold to that block's size (up to 32 MiB), so later KV
/// buffers come from the heap, which fragments and never shrinks: 2,000 distinct requests on a Qwen2.5-0.5B shape
/// grew resident memory by 19.7 %, flat with the threshold fixed at 128 KiB (docs/kv-cache.md, eng/Bench soak).
/// Fixing the threshold (mallopt M_MMAP_THRESHOLD, which also turns the dynamic rise off) returns every freed large
/// block to the system at once. It is process-wide, set once, and left alone when the operator set
/// <c>MALLOC_MMAP_THRESHOLD_</c> themselves or opted out (<see cref="LocalModelOptions.TuneNativeHeap"/>).
/// </summary>
internal static partial class NativeHeap
{
    /// <summary>The fixed threshold: blocks of 128 KiB and more are mapped, and unmapped when freed.</summary>
    public const int MmapThresholdBytes = 128 * 1024;

    private const int M_MMAP_THRESHOLD = -3;
    private static readonly Lock s_gate = new();
    private static string? s_outcome;

    /// <summary>What the process's setting is (logged at model load); the first call decides.</summary>
    public static string Tune(bool enabled)
    {
        lock (s_gate)
        {
            return s_outcome ??= Apply(enabled);
        }
    }

    private static string Apply(bool enabled)
    {
        if (!OperatingSystem.IsLinux()) return "not Linux: the native allocator is left as it is";
        if (!enabled) return "TuneNativeHeap is off: glibc's dynamic mmap threshold is left on (resident memory can grow with distinct requests)";
        if (Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is { Length: > 0 } set)
            return $"MALLOC_MMAP_THRESHOLD_={set} is set in the environment; LocalLlm leaves it";
        try
        {
            return Mallopt(M_MMAP_THRESHOLD, MmapThresholdBytes) == 1
                ? $"glibc mmap threshold fixed at {MmapThresholdBytes / 1024} KiB (freed KV buffers go back to the system)"
                : "mallopt refused the mmap threshold; the native allocator is left as it is";
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return "no glibc mallopt here (another C library): the native allocator is left as it is";
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")] // glibc's soname ("libc.so" is a linker script dlopen refuses)
    private static partial int Mallopt(int param, int value);
}
