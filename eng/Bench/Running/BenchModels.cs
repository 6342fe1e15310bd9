using LocalLlm.Memory;

namespace LocalLlm.Bench.Running;

/// <summary>A model folder the bench measures, with the shape the planner needs (null when unknown).</summary>
internal sealed record BenchModel(string Name, string Folder, ModelShape? Shape, string Precision, int AccuracyLevel = 4)
{
    public long FileBytes => Directory.EnumerateFiles(Folder).Sum(f => new FileInfo(f).Length);
}

/// <summary>Finds (and, through ModelForge, writes) the model folders the suites run on.</summary>
internal sealed class BenchModels(bool quick, Action<string> log)
{
    /// <summary>The third-party folder (ORT GenAI's model builder): ../shared/models/tiny-random-llama-fp16.</summary>
    public static string ThirdPartyTinyLlama
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("LOCALLLM_SHARED");
            string shared = env is { Length: > 0 } ? env : Path.Combine(FindRepoRoot(), "..", "shared");
            return Path.GetFullPath(Path.Combine(shared, "models", "tiny-random-llama-fp16"));
        }
    }

    public bool Quick { get; } = quick;

    private readonly Action<string> _log = log;

    /// <summary>The model most suites run on.</summary>
    public BenchModel Primary() => Quick ? ThirdParty() : ThirdParty();

    private static BenchModel ThirdParty() => new("tiny-random-llama (fp16, third party)", ThirdPartyTinyLlama, null, "fp16");

    /// <summary>The precision variants (one folder per precision and accuracy level).</summary>
    public IReadOnlyList<BenchModel> PrecisionVariants() => [Primary()];

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sdk.sln")))
                return dir.FullName;
        }
        return Directory.GetCurrentDirectory();
    }
}
