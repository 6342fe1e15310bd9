namespace LocalLlm.ModelForge.Tests;

/// <summary>Forges model folders for the forge tests (the raw greedy loop is TestSupport's RawLoop).</summary>
internal static class RawApi
{
    public static string Forge(TempDirectory temp, ForgeOptions options, string? name = null)
    {
        string folder = Path.Combine(temp.Path, name ?? "model");
        LocalLlm.ModelForge.Forge.Write(options, folder);
        return folder;
    }
}
