using System.ComponentModel.DataAnnotations;

namespace LocalLlm;

/// <summary>Options of <c>services.AddLocalLlm()</c>, bound from the configuration section <c>LocalLlm</c> (or <c>LocalLlm:&lt;key&gt;</c> for keyed models).</summary>
public sealed class LocalLlmOptions
{
    /// <summary>The configuration section bound by <c>AddLocalLlm</c>.</summary>
    public const string SectionName = "LocalLlm";

    /// <summary>
    /// The model: a catalog id (<c>phi-3.5-mini</c>), <c>id:variant</c> (<c>phi-3.5-mini:cpu-int4</c>), or a model folder.
    /// An id is downloaded into the cache on first use (see <c>LocalLlm:Download</c>) with the variant chosen for
    /// <see cref="ExecutionProvider"/>. Set this or <see cref="ModelPath"/>, not both.
    /// </summary>
    /// <value>Default: null.</value>
    public string? Model { get; set; }

    /// <summary>The model folder (genai_config.json, model.onnx, tokenizer files). Set this or <see cref="Model"/>, not both.</summary>
    /// <value>Default: empty.</value>
    public string ModelPath { get; set; } = "";

    /// <summary>Where the model runs.</summary>
    /// <value>Default: <see cref="LocalLlm.ExecutionProvider.Auto"/>.</value>
    [EnumDataType(typeof(ExecutionProvider), ErrorMessage = "LocalLlm:ExecutionProvider must be Auto, Cpu or Cuda.")]
    public ExecutionProvider ExecutionProvider { get; set; } = ExecutionProvider.Auto;

    /// <summary>The CUDA device.</summary>
    /// <value>Default: 0.</value>
    [Range(0, 64, ErrorMessage = "LocalLlm:DeviceId must be between 0 and 64.")]
    public int DeviceId { get; set; }

    /// <summary>Output tokens when a request sets no MaxOutputTokens.</summary>
    /// <value>Default: 512.</value>
    [Range(1, 1_000_000, ErrorMessage = "LocalLlm:DefaultMaxOutputTokens must be between 1 and 1000000.")]
    public int DefaultMaxOutputTokens { get; set; } = 512;

    /// <summary>Requests generating at once; further ones wait.</summary>
    /// <value>Default: 1.</value>
    [Range(1, 64, ErrorMessage = "LocalLlm:MaxConcurrentRequests must be between 1 and 64.")]
    public int MaxConcurrentRequests { get; set; } = 1;

    /// <summary>Requests waiting for admission at most; more fail with <see cref="ServerBusyException"/> (HTTP 429).</summary>
    /// <value>Default: 256.</value>
    [Range(0, 1_000_000, ErrorMessage = "LocalLlm:MaxQueueLength must be between 0 and 1000000.")]
    public int MaxQueueLength { get; set; } = 256;

    /// <summary>Reuse cached generators (KV caches) across turns and requests.</summary>
    /// <value>Default: true.</value>
    public bool EnableKvCacheReuse { get; set; } = true;

    /// <summary>Bytes of KV cache active requests and cached generators may hold together.</summary>
    /// <value>Default: 1073741824 (1 GiB).</value>
    [Range(typeof(long), "1048576", "1099511627776", ErrorMessage = "LocalLlm:KvCacheBudgetBytes must be between 1048576 (1 MiB) and 1099511627776 (1 TiB).")]
    public long KvCacheBudgetBytes { get; set; } = 1L << 30;

    /// <summary>Conversations (by ChatOptions.ConversationId) whose history is remembered.</summary>
    /// <value>Default: 1024.</value>
    [Range(1, 10_000_000, ErrorMessage = "LocalLlm:MaxConversations must be between 1 and 10000000.")]
    public int MaxConversations { get; set; } = 1024;

    /// <summary>A chat template that replaces the model's own.</summary>
    /// <value>Default: null.</value>
    public string? ChatTemplate { get; set; }

    /// <summary>What to do with a prompt longer than the context.</summary>
    /// <value>Default: <see cref="PromptTruncation.Error"/>.</value>
    [EnumDataType(typeof(PromptTruncation), ErrorMessage = "LocalLlm:Truncation must be Error or DropOldestTurns.")]
    public PromptTruncation Truncation { get; set; } = PromptTruncation.Error;

    /// <summary>LoRA adapters requests may pick by name (<c>LocalLlm:Adapters:sql</c> = path of an .onnx_adapter file); see <see cref="LocalLlmChatClientOptions.Adapters"/>.</summary>
    /// <value>Default: empty.</value>
    public Dictionary<string, string> Adapters { get; } = new(StringComparer.Ordinal);

    /// <summary>Load the model while the host starts instead of on the first request.</summary>
    /// <value>Default: false (lazy).</value>
    public bool PreloadOnStart { get; set; }
}
