using System.Reflection;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Tokenizers;

namespace LocalLlm.Embeddings;

/// <summary>
/// Sentence embeddings from an ONNX BERT-family encoder: WordPiece tokens (Microsoft.ML.Tokenizers), one ONNX Runtime
/// call per batch of inputs padded to the batch's longest, mean pooling over the attention mask, L2 normalisation.
/// With no <see cref="LocalEmbeddingOptions.ModelPath"/> it runs the built-in all-MiniLM-L6-v2 (384 dimensions).
/// Thread-safe.
/// </summary>
public sealed class LocalEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>
    /// The <see cref="Embedding.AdditionalProperties"/> key set to <see langword="true"/> on an embedding whose input was
    /// longer than <see cref="LocalEmbeddingOptions.MaxTokens"/> and was cut; on the whole result it holds the count.
    /// </summary>
    public const string TruncatedPropertyName = "localllm.embeddings.truncated";

    private const string ResourcePrefix = "LocalLlm.Embeddings.all-MiniLM-L6-v2";

    private readonly InferenceSession _session;
    private readonly BertTokenizer _tokenizer;
    private readonly LocalEmbeddingOptions _options;
    private readonly ILogger? _logger;
    private readonly string _output;
    private readonly bool _tokenTypes;
    private readonly int _cls;
    private readonly int _sep;
    private readonly int _pad;
    private int _disposed;

    /// <summary>Initializes a new instance of the <see cref="LocalEmbeddingGenerator"/> class and loads the model.</summary>
    /// <param name="options">The options; <see langword="null"/> for the built-in model with defaults.</param>
    /// <param name="logger">Receives load and truncation events.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="FileNotFoundException"><see cref="LocalEmbeddingOptions.ModelPath"/> lacks model.onnx or vocab.txt.</exception>
    /// <exception cref="InvalidOperationException">The model's inputs or outputs are not those of a BERT-family encoder.</exception>
    public LocalEmbeddingGenerator(LocalEmbeddingOptions? options = null, ILogger<LocalEmbeddingGenerator>? logger = null)
    {
        _options = options ?? new LocalEmbeddingOptions();
        _logger = logger;
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxTokens, 8, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.BatchSize, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(_options.IntraOpThreads, nameof(options));

        var bert = new BertOptions { LowerCaseBeforeTokenization = _options.LowerCase };
        using var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = _options.IntraOpThreads };
        string modelId;
        if (string.IsNullOrWhiteSpace(_options.ModelPath))
        {
            using (var vocab = OpenResource(ResourcePrefix + ".vocab.txt"))
                _tokenizer = BertTokenizer.Create(vocab, bert);
            _session = new InferenceSession(ReadResource(ResourcePrefix + ".onnx"), sessionOptions);
            modelId = LocalEmbeddingOptions.BuiltInModelId;
        }
        else
        {
            string model = Path.Combine(_options.ModelPath, "model.onnx"), vocab = Path.Combine(_options.ModelPath, "vocab.txt");
            if (!File.Exists(model))
                throw new FileNotFoundException($"{LocalEmbeddingOptions.SectionName}:ModelPath '{_options.ModelPath}' has no model.onnx; point it at a folder with an ONNX sentence encoder and its vocab.txt, or leave it empty for the built-in model.", model);
            if (!File.Exists(vocab))
                throw new FileNotFoundException($"{LocalEmbeddingOptions.SectionName}:ModelPath '{_options.ModelPath}' has no vocab.txt (the WordPiece vocabulary of the model).", vocab);
            _tokenizer = BertTokenizer.Create(vocab, bert);
            _session = new InferenceSession(model, sessionOptions);
            modelId = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(_options.ModelPath)));
        }
        if (!string.IsNullOrWhiteSpace(_options.ModelId))
            modelId = _options.ModelId;

        try
        {
            var inputs = _session.InputMetadata;
            if (!inputs.ContainsKey("input_ids") || !inputs.ContainsKey("attention_mask"))
                throw new InvalidOperationException($"Embedding model {modelId} has inputs [{string.Join(", ", inputs.Keys)}]; a BERT-family encoder needs input_ids and attention_mask.");
            _tokenTypes = inputs.ContainsKey("token_type_ids");
            var output = _session.OutputMetadata.FirstOrDefault(o => o.Value.Dimensions.Length == 3);
            if (output.Key is null || output.Value.Dimensions[2] <= 0)
                throw new InvalidOperationException($"Embedding model {modelId} has no [batch, tokens, dimensions] output; mean pooling needs the token embeddings.");
            _output = output.Key;
            Dimensions = output.Value.Dimensions[2];
        }
        catch
        {
            _session.Dispose();
            throw;
        }
        _cls = _tokenizer.ClassificationTokenId;
        _sep = _tokenizer.SeparatorTokenId;
        _pad = _tokenizer.PaddingTokenId;
        Metadata = new EmbeddingGeneratorMetadata("LocalLlm", null, modelId, Dimensions);
        if (_logger is not null)
            Log.ModelLoaded(_logger, modelId, Dimensions, _options.MaxTokens);
    }

    /// <summary>Gets the length of every vector (384 for the built-in model).</summary>
    public int Dimensions { get; }

    /// <summary>Gets the provider ("LocalLlm"), model id and dimensions.</summary>
    public EmbeddingGeneratorMetadata Metadata { get; }

    /// <summary>Gets the most tokens read per input.</summary>
    public int MaxTokens => _options.MaxTokens;

    /// <summary>Embeds <paramref name="values"/>, one unit-length vector per input, in order.</summary>
    /// <param name="values">The texts.</param>
    /// <param name="options">Only <see cref="EmbeddingGenerationOptions.Dimensions"/> is read: it must be unset or equal <see cref="Dimensions"/>.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <returns>The embeddings, with token usage and, when any input was cut, <see cref="TruncatedPropertyName"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="values"/> or one of its items is null.</exception>
    /// <exception cref="ArgumentException"><see cref="EmbeddingGenerationOptions.Dimensions"/> asks for another size.</exception>
    /// <exception cref="ObjectDisposedException">The generator was disposed.</exception>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (options?.Dimensions is { } d && d != Dimensions)
            throw new ArgumentException($"EmbeddingGenerationOptions.Dimensions is {d}, but {Metadata.DefaultModelId} makes {Dimensions}-dimensional vectors only; leave Dimensions unset.", nameof(options));
        string[] texts = values.ToArray();
        for (int i = 0; i < texts.Length; i++)
            if (texts[i] is null)
                throw new ArgumentNullException(nameof(values), $"Input {i} is null; every input must be a string (empty is allowed).");
        return Task.FromResult(Embed(texts, cancellationToken));
    }

    /// <summary>Embeds texts synchronously into unit-length vectors (what <see cref="GenerateAsync"/> runs).</summary>
    /// <param name="texts">The texts.</param>
    /// <param name="truncated">Set per input: whether it was cut to <see cref="MaxTokens"/>.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <returns>One vector per text.</returns>
    internal float[][] EmbedVectors(IReadOnlyList<string> texts, out bool[] truncated, CancellationToken cancellationToken = default)
    {
        var ids = new int[texts.Count][];
        truncated = new bool[texts.Count];
        for (int i = 0; i < texts.Count; i++)
            ids[i] = Tokenize(texts[i], out truncated[i]);
        // Group inputs of similar length so that a batch pads little.
        int[] order = Enumerable.Range(0, ids.Length).OrderBy(i => ids[i].Length).ToArray();
        var vectors = new float[texts.Count][];
        for (int start = 0; start < order.Length; start += _options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int[] batch = order.AsSpan(start, Math.Min(_options.BatchSize, order.Length - start)).ToArray();
            RunBatch(ids, batch, vectors);
        }
        return vectors;
    }

    /// <summary>
    /// Embeds each vocabulary token on its own ([CLS] token [SEP]) into unit-length vectors, indexed by token id: the
    /// table eng/GuardTrainer distils a static (look-up) encoder from.
    /// </summary>
    /// <param name="vocabularySize">The number of token ids (vocab.txt's lines).</param>
    /// <returns>One vector per token id.</returns>
    internal float[][] EmbedVocabulary(int vocabularySize)
    {
        var ids = new int[vocabularySize][];
        for (int i = 0; i < ids.Length; i++)
            ids[i] = [_cls, i, _sep];
        var vectors = new float[ids.Length][];
        for (int start = 0; start < ids.Length; start += 256)
            RunBatch(ids, [.. Enumerable.Range(start, Math.Min(256, ids.Length - start))], vectors);
        return vectors;
    }

    /// <summary>Counts the tokens of <paramref name="text"/> as the model reads it ([CLS] and [SEP] included, before truncation).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The token count.</returns>
    public int CountTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _tokenizer.EncodeToIds(text, addSpecialTokens: true, considerPreTokenization: true, considerNormalization: true).Count;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
            return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata))
            return Metadata;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _session.Dispose();
    }

    private GeneratedEmbeddings<Embedding<float>> Embed(string[] texts, CancellationToken cancellationToken)
    {
        float[][] vectors = EmbedVectors(texts, out bool[] truncated, cancellationToken);
        long tokens = 0;
        foreach (string t in texts)
            tokens += Math.Min(CountTokens(t), MaxTokens);
        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Length)
        {
            Usage = new UsageDetails { InputTokenCount = tokens, TotalTokenCount = tokens },
        };
        var now = DateTimeOffset.UtcNow;
        int cut = 0;
        for (int i = 0; i < vectors.Length; i++)
        {
            var e = new Embedding<float>(vectors[i]) { ModelId = Metadata.DefaultModelId, CreatedAt = now };
            if (truncated[i])
            {
                cut++;
                e.AdditionalProperties = new() { [TruncatedPropertyName] = true };
            }
            result.Add(e);
        }
        if (cut > 0)
        {
            result.AdditionalProperties = new() { [TruncatedPropertyName] = cut };
            if (_logger is not null)
                Log.Truncated(_logger, cut, texts.Length, MaxTokens);
        }
        return result;
    }

    private int[] Tokenize(string text, out bool truncated)
    {
        int room = MaxTokens - 2;
        // One token more than fits tells whether anything was cut, without tokenizing a huge input in full.
        var body = _tokenizer.EncodeToIds(text, room + 1, addSpecialTokens: false, out _, out _, considerPreTokenization: true, considerNormalization: true);
        truncated = body.Count > room;
        int n = Math.Min(body.Count, room);
        var ids = new int[n + 2];
        ids[0] = _cls;
        for (int i = 0; i < n; i++)
            ids[i + 1] = body[i];
        ids[n + 1] = _sep;
        return ids;
    }

    private void RunBatch(int[][] ids, int[] batch, float[][] vectors)
    {
        int rows = batch.Length, length = batch.Max(i => ids[i].Length);
        var inputIds = new DenseTensor<long>([rows, length]);
        var mask = new DenseTensor<long>([rows, length]);
        for (int r = 0; r < rows; r++)
        {
            int[] row = ids[batch[r]];
            for (int t = 0; t < length; t++)
            {
                inputIds[r, t] = t < row.Length ? row[t] : _pad;
                mask[r, t] = t < row.Length ? 1 : 0;
            }
        }
        var inputs = new List<NamedOnnxValue>(3)
        {
            NamedOnnxValue.CreateFromTensor("input_ids", inputIds),
            NamedOnnxValue.CreateFromTensor("attention_mask", mask),
        };
        if (_tokenTypes)
            inputs.Add(NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>([rows, length])));
        using var results = _session.Run(inputs, [_output]);
        var hidden = results[0].AsTensor<float>();
        int dims = Dimensions;
        for (int r = 0; r < rows; r++)
        {
            // Mean of the token vectors under the attention mask, then unit length (sentence-transformers' pooling).
            int count = ids[batch[r]].Length;
            var v = new float[dims];
            for (int t = 0; t < count; t++)
                for (int k = 0; k < dims; k++)
                    v[k] += hidden[r, t, k];
            double norm = 0;
            for (int k = 0; k < dims; k++)
            {
                v[k] /= count;
                norm += (double)v[k] * v[k];
            }
            float scale = (float)(1 / Math.Max(Math.Sqrt(norm), 1e-12));
            for (int k = 0; k < dims; k++)
                v[k] *= scale;
            vectors[batch[r]] = v;
        }
    }

    /// <summary>The built-in model's vocabulary (vocab.txt), one token per id.</summary>
    internal static string[] BuiltInVocabulary()
    {
        using var reader = new StreamReader(OpenResource(ResourcePrefix + ".vocab.txt"));
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
            lines.Add(line);
        return [.. lines];
    }

    private static Stream OpenResource(string name) =>
        typeof(LocalEmbeddingGenerator).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Resource {name} is missing from LocalLlm.Embeddings; the package is broken.");

    private static byte[] ReadResource(string name)
    {
        using var stream = OpenResource(name);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }
}
