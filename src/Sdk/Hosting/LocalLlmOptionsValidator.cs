using Microsoft.Extensions.Options;

namespace LocalLlm;

/// <summary>Range and required checks, generated from the data annotations.</summary>
[OptionsValidator]
internal sealed partial class LocalLlmOptionsValidator : IValidateOptions<LocalLlmOptions>;

/// <summary>Checks that need the file system: the model folder exists and looks like one.</summary>
internal sealed class LocalLlmModelPathValidator : IValidateOptions<LocalLlmOptions>
{
    public ValidateOptionsResult Validate(string? name, LocalLlmOptions options)
    {
        string key = string.IsNullOrEmpty(name) ? LocalLlmOptions.SectionName : $"{LocalLlmOptions.SectionName}:{name}";
        if (string.IsNullOrWhiteSpace(options.ModelPath)) return ValidateOptionsResult.Skip; // the annotations report it
        if (!Directory.Exists(options.ModelPath))
            return ValidateOptionsResult.Fail($"{key}:ModelPath '{options.ModelPath}' does not exist. Set it to a model folder that holds genai_config.json.");
        if (!File.Exists(Path.Combine(options.ModelPath, "genai_config.json")))
            return ValidateOptionsResult.Fail($"{key}:ModelPath '{options.ModelPath}' has no genai_config.json. Point it at an ONNX Runtime GenAI model folder.");
        return ValidateOptionsResult.Success;
    }
}
