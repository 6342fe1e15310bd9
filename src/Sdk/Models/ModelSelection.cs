namespace LocalLlm.Models;

/// <summary>How a catalog id becomes one variant: the execution provider to run on, the memory to fit in, or an explicit variant.</summary>
public sealed class ModelSelection
{
    /// <summary>The execution provider the model will run on: <c>cpu</c> or <c>cuda</c>.</summary>
    /// <value><c>cpu</c>.</value>
    public string ExecutionProvider { get; set; } = "cpu";

    /// <summary>An explicit variant name (<c>cuda-fp16</c>); overrides the automatic choice. <c>id:variant</c> does the same.</summary>
    /// <value>Null: choose automatically.</value>
    public string? Variant { get; set; }

    /// <summary>The memory the weights must fit in (RAM for <c>cpu</c>, VRAM for <c>cuda</c>).</summary>
    /// <value>Null: the memory available to this process for <c>cpu</c>; not checked for <c>cuda</c> (VRAM is not measured).</value>
    public long? MemoryBytes { get; set; }

    /// <summary>The selection for a model that will run on <paramref name="provider"/>, as <c>AddLocalLlm</c> makes it.</summary>
    /// <param name="provider">The configured provider; <see cref="LocalLlm.ExecutionProvider.Auto"/> means <c>cuda</c> when the
    /// CUDA runtime package is in the app (as <see cref="LocalModel"/> will then use it), else <c>cpu</c>.</param>
    /// <returns>A new selection with no explicit variant and no memory limit (this machine's memory for <c>cpu</c>).</returns>
    public static ModelSelection For(LocalLlm.ExecutionProvider provider) => new()
    {
        ExecutionProvider = provider switch
        {
            LocalLlm.ExecutionProvider.Cuda => "cuda",
            LocalLlm.ExecutionProvider.Auto when ExecutionProviderSelector.FindCudaProviderLibrary() is not null => "cuda",
            _ => "cpu",
        },
    };
}

/// <summary>Chooses a variant of a catalog entry for an execution provider and a memory size.</summary>
public static class ModelVariantSelector
{
    /// <summary>Weights take about their file size in memory; this covers the runtime, KV cache of a short context and activations.</summary>
    public const double MemoryHeadroom = 1.25;

    /// <summary>Chooses the most precise variant built for the execution provider whose weights fit in memory.</summary>
    /// <param name="entry">The catalog entry.</param>
    /// <param name="selection">Provider, memory or explicit variant; null for CPU and this machine's memory.</param>
    /// <param name="reason">Why this variant was chosen (for the log).</param>
    /// <returns>The variant.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="entry"/> is null.</exception>
    /// <exception cref="ArgumentException">The explicit variant does not exist; the message lists the variants.</exception>
    /// <exception cref="InvalidOperationException">No variant runs on the provider, or none fits in memory; the message says how to override.</exception>
    public static ModelVariant Select(ModelCatalogEntry entry, ModelSelection? selection, out string reason)
    {
        ArgumentNullException.ThrowIfNull(entry);
        selection ??= new ModelSelection();
        string names = string.Join(", ", entry.Variants.Keys.Order(StringComparer.OrdinalIgnoreCase));
        if (!string.IsNullOrWhiteSpace(selection.Variant))
        {
            if (!entry.Variants.TryGetValue(selection.Variant, out var chosen))
                throw new ArgumentException($"Model '{entry.Id}' has no variant '{selection.Variant}'. Its variants: {names}.", nameof(selection));
            reason = "requested explicitly";
            return chosen;
        }

        string provider = selection.ExecutionProvider.Trim().ToUpperInvariant();
        var candidates = entry.Variants.Values.Where(v => v.ExecutionProvider.Equals(provider, StringComparison.OrdinalIgnoreCase)).ToList();
        string providerNote = "";
        if (candidates.Count == 0 && provider == "CUDA")
        {
            candidates = [.. entry.Variants.Values.Where(v => v.ExecutionProvider.Equals("cpu", StringComparison.OrdinalIgnoreCase))];
            providerNote = "; no CUDA build is published, so the CPU build runs on the CPU";
        }
        if (candidates.Count == 0)
        {
            throw new InvalidOperationException(
                $"Model '{entry.Id}' has no variant for the {selection.ExecutionProvider} execution provider (variants: {names}). " +
                $"Run on a provider it was built for, or name a variant explicitly ('{entry.Id}:<variant>').");
        }

        long? memory = selection.MemoryBytes ?? (provider == "CPU" ? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes : null);
        var ordered = candidates.OrderByDescending(v => PrecisionRank(v.Precision)).ThenBy(v => v.ApproximateBytes).ToList();
        foreach (var v in ordered)
        {
            if (v.ApproximateBytes == 0 || memory is null || v.ApproximateBytes * MemoryHeadroom <= memory)
            {
                reason = $"{v.Precision} build for {v.ExecutionProvider}" +
                         (memory is long m && v.ApproximateBytes > 0 ? $", ~{Gb(v.ApproximateBytes)} of weights fit in {Gb(m)}" : "") +
                         providerNote;
                return v;
            }
        }
        var smallest = ordered.MinBy(v => v.ApproximateBytes)!;
        throw new InvalidOperationException(
            $"No variant of '{entry.Id}' fits in {Gb(memory!.Value)} of memory: the smallest, {smallest.Name}, needs about " +
            $"{Gb((long)(smallest.ApproximateBytes * MemoryHeadroom))}. Choose a smaller model, or override with " +
            $"'{entry.Id}:{smallest.Name}' (or ModelSelection.MemoryBytes) if you know it fits.");
    }

    private static int PrecisionRank(string precision) => precision.ToUpperInvariant() switch
    {
        "FP32" => 4,
        "FP16" or "BF16" => 3,
        "INT8" => 2,
        _ => 1,
    };

    private static string Gb(long bytes) => $"{bytes / 1e9:0.0} GB";
}
