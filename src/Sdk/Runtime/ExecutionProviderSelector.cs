using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm;

/// <summary>The provider an app can actually use, with the reason, decided before native code loads.</summary>
internal static class ExecutionProviderSelector
{
    internal readonly record struct Choice(ExecutionProvider Provider, string Reason, bool RequiresCuda);

    /// <summary>Apps get the CUDA provider library only from the CUDA runtime package.</summary>
    private static readonly string[] s_cudaProviderLibraries =
        OperatingSystem.IsWindows() ? ["onnxruntime_providers_cuda.dll"] : ["libonnxruntime_providers_cuda.so"];

    public static Choice Choose(LocalModelOptions options, ModelFolder folder)
    {
        bool cudaExport = folder.ConfiguredProviders.Contains("cuda");
        string? cudaLibrary = FindCudaProviderLibrary();
        switch (options.ExecutionProvider)
        {
            case ExecutionProvider.Cpu:
                return new(ExecutionProvider.Cpu, "requested by configuration", false);
            case ExecutionProvider.Cuda:
                if (cudaLibrary is null) throw NoCudaRuntime("ExecutionProvider is Cuda");
                return new(ExecutionProvider.Cuda, $"requested by configuration (device {options.DeviceId})", true);
            case ExecutionProvider.Auto:
                if (cudaLibrary is not null)
                    return new(ExecutionProvider.Cuda, $"Auto: the CUDA runtime package is present ({cudaLibrary}); device {options.DeviceId}", cudaExport);
                if (cudaExport)
                    throw NoCudaRuntime($"the model folder '{folder.Path}' is a CUDA export (genai_config.json provider_options lists cuda), and Auto never runs a CUDA model on the CPU silently");
                return new(ExecutionProvider.Cpu, "Auto: the CUDA runtime package is not present (build with -p:LocalLlmRuntime=cuda to use a GPU)", false);
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.ExecutionProvider, "ExecutionProvider must be Auto, Cpu or Cuda.");
        }
    }

    public static Model Create(ModelFolder folder, LocalModelOptions options, ExecutionProvider provider)
    {
        using var config = new Config(folder.Path);
        config.ClearProviders();
        if (provider == ExecutionProvider.Cuda)
        {
            config.AppendProvider("cuda");
            config.SetProviderOption("cuda", "device_id", options.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        foreach (var (key, value) in options.ProviderOptions)
            config.SetProviderOption(provider == ExecutionProvider.Cuda ? "cuda" : "cpu", key, value);
        return new Model(config);
    }

    internal static string? FindCudaProviderLibrary()
    {
        string rid = RuntimeInformation.RuntimeIdentifier;
        string[] folders =
        [
            AppContext.BaseDirectory,
            Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native"),
            Path.Combine(AppContext.BaseDirectory, "runtimes", OperatingSystem.IsWindows() ? "win-x64" : "linux-x64", "native"),
        ];
        return folders.SelectMany(f => s_cudaProviderLibraries.Select(l => Path.Combine(f, l))).FirstOrDefault(File.Exists);
    }

    private static ExecutionProviderException NoCudaRuntime(string why) => new(
        $"CUDA cannot be used: {why}, but the CUDA runtime is not in this app. Build the app with -p:LocalLlmRuntime=cuda " +
        "(or reference Microsoft.ML.OnnxRuntimeGenAI.Cuda instead of Microsoft.ML.OnnxRuntimeGenAI), and install an NVIDIA driver, " +
        "CUDA 12 and cuDNN 9 (see the README's CUDA section). To run on the CPU, set ExecutionProvider to Cpu and use a CPU model variant.");
}
