using System.ComponentModel.DataAnnotations;

namespace LocalLlm;

/// <summary>
/// Options of <c>services.AddLocalLlm()</c>, bound from the configuration section <c>LocalLlm</c> (or
/// <c>LocalLlm:&lt;key&gt;</c> for keyed models): where the model comes from, plus every
/// <see cref="LocalLlmChatClientOptions"/> (one options model for code and configuration).
/// </summary>
public sealed class LocalLlmOptions : LocalLlmChatClientOptions
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

    /// <summary>Fix glibc's mmap threshold when the model loads (<see cref="LocalModelOptions.TuneNativeHeap"/>).</summary>
    /// <value>Default: true.</value>
    public bool TuneNativeHeap { get; set; } = true;

    /// <summary>Load the model while the host starts instead of on the first request.</summary>
    /// <value>Default: false (lazy).</value>
    public bool PreloadOnStart { get; set; }
}
