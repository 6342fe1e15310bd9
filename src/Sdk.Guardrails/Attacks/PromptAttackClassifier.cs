using System.Reflection;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace LocalLlm.Guardrails.Attacks;

/// <summary>
/// The trained prompt-attack classifier: ML.NET text features (word 1-2-grams, character 3-grams) and logistic
/// regression, exported to ONNX and run with ONNX Runtime. The model ships inside this assembly; see
/// docs/guardrails.md for how it was trained and how well it does. Thread-safe.
/// </summary>
public sealed class PromptAttackClassifier : IDisposable
{
    internal const string ModelFileName = "prompt-attack.onnx";
    internal const string MetadataFileName = "prompt-attack.json";
    internal const int HeadCharacters = 768; // see Normalize
    internal const int TailCharacters = 256;

    private static readonly Lazy<PromptAttackClassifier> s_shipped = new(LoadShipped);

    private readonly InferenceSession _session;
    private readonly string _input;
    private readonly string _output;

    private PromptAttackClassifier(InferenceSession session, double threshold)
    {
        _session = session;
        _input = session.InputMetadata.Keys.Single();
        _output = session.OutputMetadata.Keys.FirstOrDefault(k => k.StartsWith("Probability", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("The classifier model has no Probability output; retrain it with eng/GuardTrainer.");
        Threshold = threshold;
    }

    /// <summary>Gets the classifier shipped in this package (loaded once, on first use).</summary>
    /// <exception cref="InvalidOperationException">The embedded model is missing (a broken build).</exception>
    public static PromptAttackClassifier Shipped => s_shipped.Value;

    /// <summary>Gets the probability at or above which a prompt counts as an attack (chosen at training for at most 0.5% false positives on ordinary prompts).</summary>
    public double Threshold { get; }

    /// <summary>Loads a classifier trained by eng/GuardTrainer from a file.</summary>
    /// <param name="path">The ONNX model.</param>
    /// <param name="threshold">The decision threshold, 0 to 1.</param>
    /// <returns>The classifier.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is <see langword="null"/>.</exception>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threshold"/> is not between 0 and 1.</exception>
    public static PromptAttackClassifier FromFile(string path, double threshold)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"No classifier model at {path}; train one with eng/GuardTrainer.", path);
        CheckThreshold(threshold);
        return new PromptAttackClassifier(new InferenceSession(path, SessionOptions()), threshold);
    }

    /// <summary>Returns the probability that a prompt is a prompt attack (jailbreak or injection).</summary>
    /// <param name="text">The prompt.</param>
    /// <returns>A probability, 0 to 1.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public double Score(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tensor = new DenseTensor<string>(new[] { Normalize(text) }, [1, 1]);
        using var results = _session.Run([NamedOnnxValue.CreateFromTensor(_input, tensor)], [_output]);
        return results[0].AsEnumerable<float>().First();
    }

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();

    /// <summary>
    /// The same text preparation at training and at inference: lower case (invariant), white space collapsed, and a
    /// long prompt cut to its first <see cref="HeadCharacters"/> and last <see cref="TailCharacters"/> characters.
    /// </summary>
    /// <remarks>
    /// Why head and tail: jailbreaks put the framing (persona, scenario) first and the request or forced opening last,
    /// and the classifier's cost grows with the length. Every training attack is under 2,400 characters.
    /// </remarks>
    internal static string Normalize(string text)
    {
        // Normalise a bounded raw prefix and suffix only, so a huge prompt costs no more than a long one.
        return Cut(AttackText.Collapse(text, 4 * (HeadCharacters + TailCharacters), lowerCase: true));
    }

    private static string Cut(string normalized) => normalized.Length <= HeadCharacters + TailCharacters
        ? normalized
        : string.Concat(normalized.AsSpan(0, HeadCharacters), " ", normalized.AsSpan(normalized.Length - TailCharacters));

    private static SessionOptions SessionOptions() => new()
    {
        // A small model: one thread per call leaves the cores to the language model.
        IntraOpNumThreads = 1,
        InterOpNumThreads = 1,
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
    };

    private static void CheckThreshold(double threshold)
    {
        if (!(threshold is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "A threshold is a probability between 0 and 1.");
    }

    private static PromptAttackClassifier LoadShipped()
    {
        var assembly = typeof(PromptAttackClassifier).Assembly;
        byte[] model = Read(assembly, "LocalLlm.Guardrails." + ModelFileName);
        var meta = JsonSerializer.Deserialize<Metadata>(Read(assembly, "LocalLlm.Guardrails." + MetadataFileName))
            ?? throw new InvalidOperationException("The shipped classifier metadata is empty.");
        CheckThreshold(meta.Threshold);
        return new PromptAttackClassifier(new InferenceSession(model, SessionOptions()), meta.Threshold);
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Resource {name} is missing from {assembly.GetName().Name}; the package is broken.");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    /// <summary>What eng/GuardTrainer records next to the model.</summary>
    internal sealed record Metadata(double Threshold, string Trained, string Data, int TrainAttacks, int TrainOrdinary);
}
