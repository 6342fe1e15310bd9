namespace LocalLlm.TestSupport;

/// <summary>Finds the repository root and the shared folder beside it (../shared), wherever tests run from.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> s_root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sdk.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"Sdk.sln not found above {AppContext.BaseDirectory}.");
    });

    public static string Root => s_root.Value;

    /// <summary>The shared folder: $LOCALLLM_SHARED, else ../shared beside the repository.</summary>
    public static string Shared =>
        Environment.GetEnvironmentVariable("LOCALLLM_SHARED") is { Length: > 0 } env
            ? env
            : Path.GetFullPath(Path.Combine(Root, "..", "shared"));

    public static string SharedModel(string name) => Path.Combine(Shared, "models", name);

    public static string Dataset(string relative) => Path.Combine(Shared, "datasets", relative);
}
