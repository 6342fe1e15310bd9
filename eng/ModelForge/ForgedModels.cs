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
        // The forge's own build identity is part of the key: a changed forge never reuses folders of an older one.
        string key = $"{options.CanonicalKey}|{typeof(Forge).Assembly.ManifestModule.ModuleVersionId:N}";
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
}
