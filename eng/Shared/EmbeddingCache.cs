using System.Security.Cryptography;
using System.Text;
using LocalLlm.Embeddings;

namespace LocalLlm.Eng;

/// <summary>
/// Embeds dataset texts with the built-in encoder and keeps the vectors on disk (LOCALLLM_CACHE, else
/// ~/.cache/localllm; never in the repository), keyed by the SHA-256 of the text, so reruns of a trainer are cheap.
/// </summary>
internal static class EmbeddingCache
{
    public static float[][] Embed(IReadOnlyList<string> texts, string cacheName, LocalEmbeddingOptions? options = null)
    {
        string dir = Environment.GetEnvironmentVariable("LOCALLLM_CACHE") is { Length: > 0 } c ? c
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "localllm");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, cacheName + ".bin");
        var cache = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (File.Exists(path))
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            while (reader.BaseStream.Position < reader.BaseStream.Length)
            {
                string key = reader.ReadString();
                int n = reader.ReadInt32();
                var v = new float[n];
                for (int i = 0; i < n; i++) v[i] = reader.ReadSingle();
                cache[key] = v;
            }
        }
        string[] keys = texts.Select(t => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(t)))).ToArray();
        var missing = Enumerable.Range(0, texts.Count).Where(i => !cache.ContainsKey(keys[i])).DistinctBy(i => keys[i]).ToList();
        if (missing.Count > 0)
        {
            Console.WriteLine($"embedding {missing.Count} new texts (cache {path})");
            using var encoder = new LocalEmbeddingGenerator(options);
            using var writer = new BinaryWriter(new FileStream(path, FileMode.Append));
            for (int start = 0; start < missing.Count; start += 256)
            {
                var chunk = missing.Skip(start).Take(256).ToList();
                float[][] vectors = encoder.EmbedVectors(chunk.Select(i => texts[i]).ToList(), out _);
                for (int k = 0; k < chunk.Count; k++)
                {
                    cache[keys[chunk[k]]] = vectors[k];
                    writer.Write(keys[chunk[k]]);
                    writer.Write(vectors[k].Length);
                    foreach (float f in vectors[k]) writer.Write(f);
                }
                writer.Flush();
                Console.WriteLine($"  {Math.Min(start + 256, missing.Count)}/{missing.Count}");
            }
        }
        return keys.Select(k => cache[k]).ToArray();
    }
}
