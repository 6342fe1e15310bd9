using System.Diagnostics;
using LocalLlm.Embeddings;
using LocalLlm.Guardrails.Attacks;

namespace LocalLlm.GuardTrainer;

/// <summary>
/// Distils the static encoder shipped in LocalLlm.Guardrails from all-MiniLM-L6-v2 (Model2Vec's recipe): every
/// vocabulary token embedded alone, PCA to a few dimensions, each token weighted by log(1 + id) (WordPiece ids run
/// roughly from frequent to rare), INT8 per token. No dataset text is involved. The 384-dimensional token vectors are
/// cached on disk (LOCALLLM_CACHE or ~/.cache/localllm), so a second run takes seconds.
/// </summary>
internal static class StaticDistill
{
    public const int DefaultDimensions = 128;

    public static string ModelId(int dims) => $"{LocalEmbeddingOptions.BuiltInModelId}-static-{dims}";

    public static string ShippedPath(string repoRoot) => Path.Combine(repoRoot, "src", "Sdk.Guardrails", "Attacks", "Model", "prompt-attack-static.bin");

    /// <summary>The command: distils and, with --write, puts the table into src/Sdk.Guardrails/Attacks/Model.</summary>
    public static int Run(string repoRoot, int dims, bool write)
    {
        var clock = Stopwatch.StartNew();
        var encoder = Build(dims);
        Console.WriteLine($"{encoder.ModelId}: {encoder.Dimensions} dimensions, built in {clock.Elapsed.TotalSeconds:0} s");
        if (write)
        {
            string path = ShippedPath(repoRoot);
            using (var file = File.Create(path))
                Write(file, dims);
            Console.WriteLine($"wrote {Path.GetRelativePath(repoRoot, path)} ({new FileInfo(path).Length / 1024} KiB)");
        }
        return 0;
    }

    /// <summary>The table as the package reads it (INT8 included), built in memory.</summary>
    /// <remarks>
    /// When the vocabulary vectors are not cached and the committed table has these dimensions, the committed table is
    /// read instead (the recipe is deterministic and uses no dataset text, so it is the same table), sparing the
    /// 30,522 MiniLM runs.
    /// </remarks>
    public static StaticEncoder Build(int dims, string? repoRoot = null)
    {
        if (repoRoot is not null && UsesCommittedTable(repoRoot, dims))
        {
            Console.WriteLine($"static encoder: the committed table {Path.GetRelativePath(repoRoot, ShippedPath(repoRoot))} (no vocabulary-vector cache)");
            using var file = File.OpenRead(ShippedPath(repoRoot));
            return StaticEncoder.Load(file);
        }
        using var stream = new MemoryStream();
        Write(stream, dims);
        stream.Position = 0;
        return StaticEncoder.Load(stream);
    }

    private static void Write(Stream stream, int dims)
    {
        string[] vocab = LocalEmbeddingGenerator.BuiltInVocabulary();
        float[][] raw = TokenVectors(vocab.Length);
        float[][] reduced = Pca(raw, dims);
        for (int id = 0; id < reduced.Length; id++)
        {
            float w = (float)Math.Log(1 + id);
            for (int k = 0; k < dims; k++)
                reduced[id][k] *= w;
        }
        StaticEncoder.Write(stream, ModelId(dims), vocab, reduced);
    }

    private static float[][] TokenVectors(int count)
    {
        string path = CachePath();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (File.Exists(path))
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            int n = reader.ReadInt32(), d = reader.ReadInt32();
            if (n == count)
            {
                var cached = new float[n][];
                for (int i = 0; i < n; i++)
                {
                    cached[i] = new float[d];
                    for (int k = 0; k < d; k++) cached[i][k] = reader.ReadSingle();
                }
                return cached;
            }
        }
        Console.WriteLine($"embedding {count} vocabulary tokens with all-MiniLM-L6-v2 (cache {path})");
        using var encoder = new LocalEmbeddingGenerator();
        float[][] vectors = encoder.EmbedVocabulary(count);
        using (var writer = new BinaryWriter(File.Create(path)))
        {
            writer.Write(vectors.Length);
            writer.Write(vectors[0].Length);
            foreach (var v in vectors)
                foreach (float f in v) writer.Write(f);
        }
        return vectors;
    }

    /// <summary>Whether <see cref="Build"/> reads the committed table: no vocabulary-vector cache, and the committed table has <paramref name="dims"/> dimensions.</summary>
    public static bool UsesCommittedTable(string repoRoot, int dims)
    {
        if (File.Exists(CachePath()) || !File.Exists(ShippedPath(repoRoot)))
            return false;
        using var file = File.OpenRead(ShippedPath(repoRoot));
        var table = StaticEncoder.Load(file);
        return table.ModelId == ModelId(dims) && table.Dimensions == dims;
    }

    private static string CachePath() => Path.Combine(
        Environment.GetEnvironmentVariable("LOCALLLM_CACHE") is { Length: > 0 } c ? c
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "localllm"),
        "minilm-vocabulary-vectors.bin");

    /// <summary>Projects the rows onto their first <paramref name="dims"/> principal components (centred).</summary>
    private static float[][] Pca(float[][] x, int dims)
    {
        int n = x.Length, d = x[0].Length;
        if (dims > d)
            throw new ArgumentOutOfRangeException(nameof(dims), dims, $"at most {d} dimensions");
        var mean = new double[d];
        foreach (var r in x)
            for (int k = 0; k < d; k++) mean[k] += r[k];
        for (int k = 0; k < d; k++) mean[k] /= n;
        var cov = new double[d, d];
        var centred = new double[d];
        foreach (var r in x)
        {
            for (int k = 0; k < d; k++) centred[k] = r[k] - mean[k];
            for (int a = 0; a < d; a++)
            {
                double ca = centred[a];
                for (int b = a; b < d; b++) cov[a, b] += ca * centred[b];
            }
        }
        for (int a = 0; a < d; a++)
            for (int b = a; b < d; b++) { cov[a, b] /= n; cov[b, a] = cov[a, b]; }
        var (values, vectors) = Jacobi(cov);
        int[] order = [.. Enumerable.Range(0, d).OrderByDescending(i => values[i]).Take(dims)];
        var result = new float[n][];
        for (int i = 0; i < n; i++)
        {
            result[i] = new float[dims];
            for (int j = 0; j < dims; j++)
            {
                double s = 0;
                int c = order[j];
                for (int k = 0; k < d; k++) s += (x[i][k] - mean[k]) * vectors[k, c];
                result[i][j] = (float)s;
            }
        }
        return result;
    }

    /// <summary>Eigenvalues and eigenvectors (columns) of a symmetric matrix, cyclic Jacobi rotations.</summary>
    private static (double[] Values, double[,] Vectors) Jacobi(double[,] m)
    {
        int d = m.GetLength(0);
        var a = (double[,])m.Clone();
        var v = new double[d, d];
        for (int i = 0; i < d; i++) v[i, i] = 1;
        for (int sweep = 0; sweep < 50; sweep++)
        {
            double off = 0;
            for (int p = 0; p < d; p++)
                for (int q = p + 1; q < d; q++) off += a[p, q] * a[p, q];
            if (off < 1e-18)
                break;
            for (int p = 0; p < d; p++)
                for (int q = p + 1; q < d; q++)
                {
                    if (Math.Abs(a[p, q]) < 1e-15)
                        continue;
                    double theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt((theta * theta) + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.Sqrt((t * t) + 1), s = t * c;
                    for (int k = 0; k < d; k++)
                    {
                        double akp = a[k, p], akq = a[k, q];
                        a[k, p] = (c * akp) - (s * akq);
                        a[k, q] = (s * akp) + (c * akq);
                    }
                    for (int k = 0; k < d; k++)
                    {
                        double apk = a[p, k], aqk = a[q, k];
                        a[p, k] = (c * apk) - (s * aqk);
                        a[q, k] = (s * apk) + (c * aqk);
                    }
                    for (int k = 0; k < d; k++)
                    {
                        double vkp = v[k, p], vkq = v[k, q];
                        v[k, p] = (c * vkp) - (s * vkq);
                        v[k, q] = (s * vkp) + (c * vkq);
                    }
                }
        }
        var values = new double[d];
        for (int i = 0; i < d; i++) values[i] = a[i, i];
        return (values, v);
    }
}
