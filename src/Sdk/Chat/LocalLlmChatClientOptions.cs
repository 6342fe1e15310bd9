using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.AI;

namespace LocalLlm;

/// <summary>What happens when a prompt does not fit the model's context.</summary>
public enum PromptTruncation
{
    /// <summary>Fail with an exception naming the prompt length and the context length.</summary>
    Error = 0,

    /// <summary>Drop the oldest turns (never the system message or the last message) until the prompt fits.</summary>
    DropOldestTurns = 1,
}

/// <summary>Whether concurrent requests are decoded together by the continuous-batching engine (docs/concurrency.md).</summary>
public enum BatchingMode
{
    /// <summary>Every request runs its own ORT GenAI generator.</summary>
    Off = 0,

    /// <summary>
    /// The default: on a GroupQueryAttention model on the CPU, concurrent requests the engine serves exactly (greedy or
    /// sampled, with or without a seed, stop strings, tools, conversations) decode together, joining and leaving between
    /// steps and sharing computed prompt prefixes. Beams, candidates, grammars, log-probabilities and LoRA adapters run
    /// on their own generator (logged and counted with the reason); other models never batch.
    /// </summary>
    Auto = 1,
}

/// <summary>
/// Per-client behaviour of <see cref="LocalLlmChatClient"/>: the one options model for code and configuration.
/// <see cref="LocalLlmOptions"/> (what <c>AddLocalLlm</c> binds from the <c>LocalLlm</c> section) extends it with where
/// the model comes from, so every option here is also a configuration key (<c>LocalLlm:Batching</c>, ...). Code gets an
/// <see cref="ArgumentOutOfRangeException"/> naming the option from the client's constructor; configuration gets
/// the messages below when the host starts.
/// </summary>
/// <remarks>Not sealed only so that <see cref="LocalLlmOptions"/> can extend it.</remarks>
public class LocalLlmChatClientOptions
{
    /// <summary>
    /// The default of <see cref="MaxConcurrentRequests"/>: 4 per logical core, at least 4 and at most 64 (8 on a 2-core
    /// machine). On a CPU, generators admitted together share the cores, so more of them than cores adds no arithmetic
    /// throughput; but admitting them keeps every stream's time to first token fair (a FIFO queue behind one or two
    /// running answers made the 8th user wait for seven whole answers: 11.7 s worst TTFT vs 2.4 s for ORT GenAI's own
    /// client, which admits everyone), and the KV budget still bounds memory, which is what binds for large models.
    /// Four per core keeps each stream's decode rate usable (a quarter of a core each). docs/concurrency.md.
    /// </summary>
    public static int DefaultMaxConcurrentRequests => Math.Clamp(4 * Environment.ProcessorCount, 4, 64);

    /// <summary>
    /// How many prompt tokens a GroupQueryAttention model prefills per step: a long prompt is appended in chunks of this
    /// size, so the logits and activations of a prefill stay bounded (LocalLlm.Memory's planner sizes the same number).
    /// 32 because a chunk is also the longest step a cancellation waits for (ONNX Runtime cannot stop inside the LM-head
    /// node): a probe on the Qwen2.5-0.5B shape gave worst cases of 223 ms at 256 tokens, 57 at 64 and 29 at 32, at the
    /// same prefill rate (docs/concurrency.md).
    /// </summary>
    public const int PrefillChunkTokens = 32;

    /// <summary>Output tokens when a request sets no <see cref="ChatOptions.MaxOutputTokens"/>.</summary>
    /// <value>Default: 512.</value>
    [Range(1, 1_000_000, ErrorMessage = "LocalLlm:DefaultMaxOutputTokens must be between 1 and 1000000.")]
    public int DefaultMaxOutputTokens { get; set; } = 512;

    /// <summary>A Jinja chat template that replaces the model's own (tokenizer_config.json <c>chat_template</c>).</summary>
    /// <value>Default: null, the model's own template.</value>
    public string? ChatTemplate { get; set; }

    /// <summary>Formats the prompt yourself instead of using a chat template; it receives the messages (system instructions merged in) and the options.</summary>
    /// <value>Default: null.</value>
    public Func<IReadOnlyList<ChatMessage>, ChatOptions?, string>? PromptFormatter { get; set; }

    /// <summary>What to do when the prompt is longer than the context.</summary>
    /// <value>Default: <see cref="PromptTruncation.Error"/>.</value>
    [EnumDataType(typeof(PromptTruncation), ErrorMessage = "LocalLlm:Truncation must be Error or DropOldestTurns.")]
    public PromptTruncation Truncation { get; set; } = PromptTruncation.Error;

    /// <summary>
    /// Requests generating at the same time (each its own generator, or a row of the batching engine), as long as their
    /// bytes fit <see cref="KvCacheBudgetBytes"/>; further ones wait in a FIFO queue.
    /// </summary>
    /// <value>Default: <see cref="DefaultMaxConcurrentRequests"/> (4 per logical core, 4–64).</value>
    [Range(1, 64, ErrorMessage = "LocalLlm:MaxConcurrentRequests must be between 1 and 64.")]
    public int MaxConcurrentRequests { get; set; } = DefaultMaxConcurrentRequests;

    /// <summary>Requests waiting for admission at most; one more fails at once with <see cref="ServerBusyException"/>.</summary>
    /// <value>Default: 256.</value>
    [Range(0, 1_000_000, ErrorMessage = "LocalLlm:MaxQueueLength must be between 0 and 1000000.")]
    public int MaxQueueLength { get; set; } = 256;

    /// <summary>
    /// Keep generators (and their KV caches) after a request and reuse the one whose tokens the next prompt extends,
    /// so a conversation's turn N prefills only its new tokens. Docs: docs/kv-cache.md.
    /// </summary>
    /// <value>Default: true.</value>
    public bool EnableKvCacheReuse { get; set; } = true;

    /// <summary>
    /// Bytes of KV cache that active requests and cached generators may hold together. Cached generators are evicted
    /// (least recently used first) to stay within it, and requests wait while active ones fill it; a request needing
    /// more than the whole budget runs alone.
    /// </summary>
    /// <value>Default: 1 GiB.</value>
    [Range(typeof(long), "1048576", "1099511627776", ErrorMessage = "LocalLlm:KvCacheBudgetBytes must be between 1048576 (1 MiB) and 1099511627776 (1 TiB).")]
    public long KvCacheBudgetBytes { get; set; } = 1L << 30;

    /// <summary>
    /// Idle generators kept for reuse at most; one more evicts the least recently used. Each holds its KV cache and a
    /// fixed native overhead (RSS per cached generator, measured in docs/kv-cache.md: about 0.3 MiB on the demo model,
    /// 13 MiB on a Qwen2.5-0.5B shape), so this bounds memory on models whose KV caches are too small for
    /// <see cref="KvCacheBudgetBytes"/> to bind.
    /// </summary>
    /// <value>Default: 64.</value>
    [Range(1, 1_000_000, ErrorMessage = "LocalLlm:MaxCachedGenerators must be between 1 and 1000000.")]
    public int MaxCachedGenerators { get; set; } = 64;

    /// <summary>Conversations (by <see cref="ChatOptions.ConversationId"/>) whose message history is remembered; the least recently used is forgotten first.</summary>
    /// <value>Default: 1024.</value>
    [Range(1, 10_000_000, ErrorMessage = "LocalLlm:MaxConversations must be between 1 and 10000000.")]
    public int MaxConversations { get; set; } = 1024;

    /// <summary>
    /// Continuous batching: concurrent requests decode together in one model step per token (docs/concurrency.md). The
    /// engine gets one slot per <see cref="MaxConcurrentRequests"/> (at most 16) and half of
    /// <see cref="KvCacheBudgetBytes"/> for its KV cache, reserved while the client lives.
    /// </summary>
    /// <value>Default: <see cref="BatchingMode.Auto"/>.</value>
    [EnumDataType(typeof(BatchingMode), ErrorMessage = "LocalLlm:Batching must be Off or Auto.")]
    public BatchingMode Batching { get; set; } = BatchingMode.Auto;

    /// <summary>The service key of a keyed registration (<c>AddKeyedLocalLlm</c>): every metric carries it as <c>localllm.model.key</c>.</summary>
    internal string? ServiceKey { get; set; }

    /// <summary>
    /// LoRA adapters a request may pick with <see cref="LocalLlmChatOptionsExtensions.WithAdapter"/>: name → path of an
    /// ONNX Runtime <c>.onnx_adapter</c> file made for this model. Each file is loaded into the model once, when the
    /// client is created. A request without an adapter runs the base model. Docs: docs/images-and-adapters.md.
    /// </summary>
    /// <value>Default: empty.</value>
    public IDictionary<string, string> Adapters { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Whether a message may name an image by a <c>file://</c> <see cref="UriContent"/>, which the client then reads from
    /// this machine's disk (vision models only). Off, a file URI is an <see cref="ArgumentException"/> saying to send the
    /// bytes as <see cref="DataContent"/>: turn it on only when whoever writes the messages may read your files. URLs
    /// of other schemes are never fetched. Docs: docs/images-and-adapters.md.
    /// </summary>
    /// <value>Default: false.</value>
    public bool AllowImageFiles { get; set; }

    /// <summary>Test hook: runs on the generation thread just before prefill.</summary>
    internal Action? PrefillStarting { get; set; }

    /// <summary>A shallow copy (AddLocalLlm gives each client its own, with its service key).</summary>
    internal LocalLlmChatClientOptions Copy() => (LocalLlmChatClientOptions)MemberwiseClone();

    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueueLength, 0, nameof(MaxQueueLength));
        ArgumentOutOfRangeException.ThrowIfLessThan(KvCacheBudgetBytes, 1L << 20, nameof(KvCacheBudgetBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConversations, 1, nameof(MaxConversations));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxCachedGenerators, 1, nameof(MaxCachedGenerators));
        ArgumentOutOfRangeException.ThrowIfLessThan(DefaultMaxOutputTokens, 1, nameof(DefaultMaxOutputTokens));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentRequests, 1, nameof(MaxConcurrentRequests));
        if (!Enum.IsDefined(Batching)) throw new ArgumentOutOfRangeException(nameof(Batching), Batching, "Batching must be Off or Auto.");
        if (!Enum.IsDefined(Truncation)) throw new ArgumentOutOfRangeException(nameof(Truncation), Truncation, "Truncation must be Error or DropOldestTurns.");
        foreach (var (name, path) in Adapters)
        {
            if (!RequestValidation.IsAdapterName(name))
                throw new ArgumentException($"Adapters: adapter name '{name}' is not valid: use 1 to 64 letters, digits, '_', '-' or '.'.", nameof(Adapters));
            if (string.IsNullOrWhiteSpace(path))
                throw new ArgumentException($"Adapters: adapter '{name}' has no file; give the path of its .onnx_adapter file.", nameof(Adapters));
        }
    }
}
