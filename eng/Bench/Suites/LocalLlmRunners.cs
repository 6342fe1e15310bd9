namespace LocalLlm.Bench.Suites;

/// <summary>The LocalLlm chat client over its own <see cref="LocalModel"/>, as an app would use it.</summary>
internal sealed class LocalLlmEngine : IDisposable
{
    private readonly LocalModel _model;

    public LocalLlmEngine(BenchModel model, int maxConcurrentRequests = 1, BatchingMode batching = BatchingMode.Off)
        : this(model.Folder, maxConcurrentRequests, batching)
    {
    }

    public LocalLlmEngine(string folder, int maxConcurrentRequests = 1, BatchingMode batching = BatchingMode.Off, IReadOnlyDictionary<string, string>? adapters = null)
        // Reuse off: suites repeat one prompt, and a cached prefix would make LocalLlm skip the prefill its baselines pay
        // for. The turns suite measures reuse on purpose.
        : this(folder, Options(maxConcurrentRequests, batching, adapters))
    {
    }

    private static LocalLlmChatClientOptions Options(int maxConcurrentRequests, BatchingMode batching, IReadOnlyDictionary<string, string>? adapters)
    {
        var options = new LocalLlmChatClientOptions { MaxConcurrentRequests = maxConcurrentRequests, EnableKvCacheReuse = false, Batching = batching };
        foreach (var (name, path) in adapters ?? new Dictionary<string, string>()) options.Adapters[name] = path;
        return options;
    }

    /// <summary>The client with exactly these options (the concurrency suite passes the defaults and distinct prompts).</summary>
    public LocalLlmEngine(string folder, LocalLlmChatClientOptions options)
    {
        _model = LocalModel.Load(folder, new LocalModelOptions { ExecutionProvider = ExecutionProvider.Cpu });
        Client = new LocalLlmChatClient(_model, options);
    }

    public LocalLlmChatClient Client { get; }

    public ModelInfo Info => _model.Info;

    /// <summary>The model's own tokenizer (owned by the engine).</summary>
    public Tokenizer Tokenizer => _model.NativeTokenizer;

    /// <summary>Greedy, exactly <c>n</c> tokens (MaxOutputTokens and min output tokens), streamed.</summary>
    public IGenerationRunner Runner(string name = "LocalLlmChatClient", string? adapter = null) =>
        new ChatClientRunner(name, Client, (_, n) =>
        {
            var options = new ChatOptions { MaxOutputTokens = n, Temperature = 0 }.WithMinOutputTokens(n);
            return adapter is null ? options : options.WithAdapter(adapter);
        });

    public void Dispose()
    {
        Client.Dispose();
        _model.Dispose();
    }
}

/// <summary>Runners for the LocalLlm chat client and the templated raw loop it is compared with.</summary>
internal static class LocalLlmRunners
{
    /// <summary>The LocalLlm client plus a raw loop that applies the same chat template (the fair TTFT baseline).</summary>
    public static (IReadOnlyList<IGenerationRunner> Runners, IDisposable Owner) Create(BenchModel model, Model ortModel, Tokenizer tokenizer)
    {
        var engine = new LocalLlmEngine(model);
        return ([new RawLoopRunner(ortModel, tokenizer, SearchSettings.Greedy, applyChatTemplate: true), engine.Runner()], engine);
    }
}
