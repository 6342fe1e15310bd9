using System.Security.Cryptography;
using System.Text;

namespace LocalLlm.ModelForge;

/// <summary>A per-options cache of forged folders shared by every test process on the machine.</summary>
public static class ForgedModels
{
    /// <summary>
    /// The cache root: $LOCALLLM_CACHE/forge when set, else ~/.cache/localllm/forge.
    /// </summary>
    public static string DefaultCacheRoot =>
        Environment.GetEnvironmentVariable("LOCALLLM_CACHE") is { Length: > 0 } env
            ? Path.Combine(env, "forge")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "localllm", "forge");

    /// <summary>
    /// Returns the folder for these options, writing it first if needed: into a temporary sibling folder that is then
    /// renamed, so readers never see a half-written folder and two racing processes both end up with a complete one.
    /// </summary>
    /// <param name="options">The model to forge.</param>
    /// <param name="cacheRoot">Where to keep folders; null uses <see cref="DefaultCacheRoot"/>.</param>
    /// <returns>The model folder path.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public static string GetOrCreate(ForgeOptions options, string? cacheRoot = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        string root = cacheRoot ?? DefaultCacheRoot;
        string key = $"{options.CanonicalKey}|{BuildId}";
        string hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16].ToLowerInvariant();
        string folder = Path.Combine(root, $"{options.Design.ToString().ToLowerInvariant()}-{hash}");
        if (Directory.Exists(folder))
            return folder;

        Directory.CreateDirectory(root);
        string temp = Path.Combine(root, $".tmp-{hash}-{Guid.NewGuid():N}");
        try
        {
            Forge.Write(options, temp);
            File.WriteAllText(Path.Combine(temp, "forge-options.txt"), key + "\n");
            Directory.Move(temp, folder);
            PruneOtherBuilds(root, StaleAfter);
        }
        catch (IOException) when (Directory.Exists(folder))
        {
            // Another process renamed its copy first; both copies are identical.
        }
        finally
        {
            if (Directory.Exists(temp))
                Directory.Delete(temp, recursive: true);
        }
        return folder;
    }

    /// <summary>How old a folder of another forge build must be before <see cref="GetOrCreate"/> deletes it.</summary>
    public static TimeSpan StaleAfter { get; } = TimeSpan.FromDays(2);

    // The forge's own build identity is part of the key: a changed forge never reuses folders of an older one.
    private static string BuildId { get; } = typeof(Forge).Assembly.ManifestModule.ModuleVersionId.ToString("N");

    /// <summary>
    /// Deletes cached folders written by other forge builds (and abandoned temporary folders) older than
    /// <paramref name="olderThan"/>. Every rebuild of the forge gets a new identity, so without this the cache grows by
    /// each build's models (tens of GB on a machine that builds often). Best effort: a folder in use is skipped.
    /// </summary>
    /// <param name="root">The cache root.</param>
    /// <param name="olderThan">Minimum age (last write time) of a folder to delete.</param>
    /// <returns>The number of folders deleted.</returns>
    public static int PruneOtherBuilds(string root, TimeSpan olderThan)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (!Directory.Exists(root))
            return 0;
        DateTime cutoff = DateTime.UtcNow - olderThan;
        int deleted = 0;
        foreach (string folder in Directory.EnumerateDirectories(root))
        {
            string options = Path.Combine(folder, "forge-options.txt");
            bool ours = File.Exists(options) && File.ReadAllText(options).TrimEnd().EndsWith("|" + BuildId, StringComparison.Ordinal);
            if (ours || Directory.GetLastWriteTimeUtc(folder) > cutoff)
                continue;
            try
            {
                Directory.Delete(folder, recursive: true);
                deleted++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another process may be writing or reading it; the next prune tries again.
            }
        }
        return deleted;
    }
}
