using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm;

/// <summary>
/// One loaded model folder: the native Model and Tokenizer, shared by every request. Load it once
/// (a singleton); generators are per request. Disposing while requests run ends them first and releases
/// the native objects when the last one has finished.
/// </summary>
public sealed class LocalModel : IDisposable
{
    private readonly Model _model;
    private readonly Tokenizer _tokenizer;
    private readonly object _tokenizerLock = new();
    private readonly object _visionLock = new();
    private MultiModalProcessor? _processor;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;
    private int _leases;
    private int _disposed;
    private int _released;

    private LocalModel(Model model, Tokenizer tokenizer, ModelInfo info, ILogger logger)
    {
        _model = model;
        _tokenizer = tokenizer;
        Adapters = new ModelAdapters(model);
        Info = info;
        _logger = logger;
        Metadata = new ChatClientMetadata("onnxruntime-genai", new Uri(info.Folder + System.IO.Path.DirectorySeparatorChar), info.Id);
    }

    /// <summary>What the model is: provider, precision, shape, context length, vocabulary, file sizes.</summary>
    public ModelInfo Info { get; }

    /// <summary>Metadata for Microsoft.Extensions.AI (provider name, model id).</summary>
    public ChatClientMetadata Metadata { get; }

    /// <summary>Opens a model folder: validates it, picks the execution provider (logged) and loads it.</summary>
    /// <param name="folder">The folder holding genai_config.json, the ONNX model and the tokenizer files.</param>
    /// <param name="options">Provider choice; null for <see cref="ExecutionProvider.Auto"/>.</param>
    /// <param name="logger">Receives the provider decision and folder warnings.</param>
    /// <exception cref="ModelFolderException">The folder is missing, incomplete or inconsistent.</exception>
    /// <exception cref="ExecutionProviderException">The requested provider cannot be used here.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">ONNX Runtime could not load the model (for example a corrupted model.onnx).</exception>
    public static LocalModel Load(string folder, LocalModelOptions? options = null, ILogger? logger = null)
    {
        options ??= new LocalModelOptions();
        logger ??= NullLogger.Instance;
        ModelFolder modelFolder = ModelFolder.Read(folder);
        Log.NativeHeap(logger, NativeHeap.Tune(options.TuneNativeHeap));
        foreach (string warning in modelFolder.Warnings)
            Log.ModelFolderWarning(logger, modelFolder.Path, warning);

        var choice = ExecutionProviderSelector.Choose(options, modelFolder);
        Model model;
        try
        {
            model = ExecutionProviderSelector.Create(modelFolder, options, choice.Provider);
        }
        catch (OnnxRuntimeGenAIException e) when (options.ExecutionProvider == ExecutionProvider.Auto && choice.Provider == ExecutionProvider.Cuda && !choice.RequiresCuda)
        {
            choice = new(ExecutionProvider.Cpu, $"CUDA failed to start ({e.Message.Trim()}); falling back to the CPU", false);
            model = ExecutionProviderSelector.Create(modelFolder, options, ExecutionProvider.Cpu);
        }
        Log.ProviderChosen(logger, choice.Provider.ToString(), choice.Reason);

        Tokenizer tokenizer;
        try { tokenizer = new Tokenizer(model); }
        catch
        {
            model.Dispose();
            throw;
        }

        OnnxGraphSummary? graph = null;
        try { graph = OnnxGraphSummary.Read(System.IO.Path.Combine(modelFolder.Path, modelFolder.DecoderFile)); }
        catch (Exception e) when (e is InvalidDataException or IOException or OverflowException)
        {
            Log.ModelFolderWarning(logger, modelFolder.Path, $"Could not read the ONNX graph to detect precision: {e.Message}");
        }

        var info = new ModelInfo
        {
            Folder = modelFolder.Path,
            Id = System.IO.Path.GetFileName(modelFolder.Path.TrimEnd(System.IO.Path.DirectorySeparatorChar)),
            ModelType = modelFolder.ModelType,
            Provider = choice.Provider,
            ProviderReason = choice.Reason,
            Precision = graph?.Precision ?? ModelPrecision.Unknown,
            KvCachePrecision = graph?.KvCachePrecision ?? ModelPrecision.Fp32,
            Layers = modelFolder.Layers,
            Heads = modelFolder.Heads,
            KvHeads = modelFolder.KvHeads,
            HeadSize = modelFolder.HeadSize,
            HiddenSize = modelFolder.HiddenSize,
            ContextLength = modelFolder.ContextLength,
            VocabSize = modelFolder.VocabSize,
            SharesKvBuffer = modelFolder.PastPresentShareBuffer && (graph?.HasGroupQueryAttention ?? false),
            EosTokenIds = modelFolder.EosTokenIds,
            FileSizes = modelFolder.FileSizes,
            HasVisionProcessor = modelFolder.HasVision,
        };
        Log.ModelLoaded(logger, info.Id, info.Precision.ToString(), info.Layers, info.ContextLength);
        return new LocalModel(model, tokenizer, info, logger);
    }

    /// <summary>The native model. Valid until this object is disposed; never dispose it yourself.</summary>
    /// <exception cref="ObjectDisposedException">The model was disposed.</exception>
    public Model NativeModel
    {
        get
        {
            ObjectDisposedException.ThrowIf(_released != 0, this);
            return _model;
        }
    }

    /// <summary>The native tokenizer. It does no locking: prefer <see cref="Encode"/> and <see cref="Decode"/>.</summary>
    /// <exception cref="ObjectDisposedException">The model was disposed.</exception>
    public Tokenizer NativeTokenizer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_released != 0, this);
            return _tokenizer;
        }
    }

    /// <summary>The LoRA adapters loaded into this model (by <see cref="LocalLlmChatClientOptions.Adapters"/>).</summary>
    internal ModelAdapters Adapters { get; }

    /// <summary>Signalled when the model starts disposing: in-flight requests end.</summary>
    internal CancellationToken Stopping => _stopping.Token;

    /// <summary>Tokenizes text (thread-safe).</summary>
    /// <exception cref="ObjectDisposedException">The model was disposed.</exception>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        lock (_tokenizerLock)
        {
            using var sequences = NativeTokenizer.Encode(text);
            return sequences[0].ToArray();
        }
    }

    /// <summary>Turns token ids back into text (thread-safe).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A token id is outside the vocabulary.</exception>
    /// <exception cref="ObjectDisposedException">The model was disposed.</exception>
    public string Decode(ReadOnlySpan<int> tokens)
    {
        ValidateTokens(tokens);
        lock (_tokenizerLock) return NativeTokenizer.Decode(tokens);
    }

    /// <summary>Renders messages (JSON, in the Hugging Face chat format) with a chat template (thread-safe).</summary>
    /// <param name="template">A Jinja template, or null for the model's own.</param>
    /// <param name="messagesJson">The messages as a JSON array.</param>
    /// <param name="toolsJson">The tools as a JSON array, or null.</param>
    /// <exception cref="ObjectDisposedException">The model was disposed.</exception>
    public string ApplyChatTemplate(string? template, string messagesJson, string? toolsJson)
    {
        lock (_tokenizerLock) return NativeTokenizer.ApplyChatTemplate(template, messagesJson, toolsJson, add_generation_prompt: true);
    }

    /// <summary>
    /// Runs the model's image processor (ONNX Runtime GenAI's <c>MultiModalProcessor</c>, created on first use) on a
    /// prompt whose placeholders name <paramref name="images"/> in order; one request at a time.
    /// </summary>
    /// <exception cref="ArgumentException">The processor refused an image (it does not decode); ParamName <c>messages</c>.</exception>
    internal ImageInputs ProcessImages(string prompt, IReadOnlyList<PromptImage> images)
    {
        lock (_visionLock)
        {
            _processor ??= new MultiModalProcessor(NativeModel);
            string? folder = null;
            Images? loaded = null;
            try
            {
                if (images.Count == 1)
                {
                    loaded = Images.Load(images[0].Png);
                }
                else
                {
                    // The 0.20 wrapper loads one image from memory, or several from files.
                    folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "localllm-images-" + Guid.NewGuid().ToString("N"));
                    Directory.CreateDirectory(folder);
                    string[] paths = [.. images.Select((_, i) => System.IO.Path.Combine(folder, $"{i}.png"))];
                    for (int i = 0; i < paths.Length; i++) File.WriteAllBytes(paths[i], images[i].Png);
                    loaded = Images.Load(paths);
                }
                return new ImageInputs(_processor.ProcessImages(prompt, loaded), loaded, images.Count);
            }
            catch (OnnxRuntimeGenAIException e)
            {
                loaded?.Dispose();
#pragma warning disable CA2208 // ParamName is the request field (the messages), as everywhere in RequestValidation.
                throw new ArgumentException($"The image processor of '{Info.Id}' could not read an image of the request: {e.Message.Trim()} Send a valid PNG or JPEG.", "messages", e);
#pragma warning restore CA2208
            }
            catch
            {
                loaded?.Dispose();
                throw;
            }
            finally
            {
                if (folder is not null) Directory.Delete(folder, recursive: true);
            }
        }
    }

    internal TokenizerStream CreateTokenizerStream()
    {
        lock (_tokenizerLock) return NativeTokenizer.CreateStream();
    }

    /// <summary>Checks that every id is inside the model's vocabulary (native code would fail on it).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is negative or not below the vocabulary size.</exception>
    public void ValidateTokens(ReadOnlySpan<int> tokens)
    {
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)Info.VocabSize)
                throw new ArgumentOutOfRangeException(nameof(tokens), tokens[i],
                    $"Token id {tokens[i]} at position {i} is outside the vocabulary of '{Info.Id}' (vocab_size {Info.VocabSize}). Token ids must come from this model's tokenizer.");
        }
    }

    /// <summary>Marks a request in flight; native objects stay alive until every lease is released.</summary>
    /// <exception cref="ObjectDisposedException">The model was disposed.</exception>
    internal Lease Acquire()
    {
        Interlocked.Increment(ref _leases);
        if (Volatile.Read(ref _disposed) != 0)
        {
            Release();
            throw new ObjectDisposedException(nameof(LocalModel), "The model was disposed; no new requests can start.");
        }
        return new Lease(this);
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _leases) == 0 && Volatile.Read(ref _disposed) != 0)
            ReleaseNative();
    }

    /// <summary>Ends in-flight requests and releases the native model once they have finished. Safe to call twice.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stopping.Cancel();
        if (Volatile.Read(ref _leases) == 0) ReleaseNative();
    }

    private void ReleaseNative()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        // Reverse creation order.
        Adapters.Dispose();
        _processor?.Dispose();
        _tokenizer.Dispose();
        _model.Dispose();
        _stopping.Dispose();
        Log.ModelReleased(_logger, Info.Id);
    }

    internal readonly struct Lease(LocalModel owner) : IDisposable
    {
        public void Dispose() => owner.Release();
    }
}
