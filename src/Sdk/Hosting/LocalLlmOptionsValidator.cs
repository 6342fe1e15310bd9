using LocalLlm.Models;
using Microsoft.Extensions.Options;

namespace LocalLlm;

/// <summary>Range checks, generated from the data annotations.</summary>
[OptionsValidator]
internal sealed partial class LocalLlmOptionsValidator : IValidateOptions<LocalLlmOptions>;

/// <summary>Exactly one of Model and ModelPath names something usable: an existing model folder or a catalog id.</summary>
internal sealed class LocalLlmModelValidator(ModelCatalog catalog) : IValidateOptions<LocalLlmOptions>
{
    public ValidateOptionsResult Validate(string? name, LocalLlmOptions options)
    {
        string key = string.IsNullOrEmpty(name) ? LocalLlmOptions.SectionName : $"{LocalLlmOptions.SectionName}:{name}";
        bool hasModel = !string.IsNullOrWhiteSpace(options.Model);
        bool hasPath = !string.IsNullOrWhiteSpace(options.ModelPath);
        string ids = string.Join(", ", catalog.Ids);
        if (hasModel && hasPath)
            return ValidateOptionsResult.Fail($"{key}:Model and {key}:ModelPath are both set ('{options.Model}', '{options.ModelPath}'). Set only one: Model takes a catalog id or a folder.");
        if (!hasModel && !hasPath)
            return ValidateOptionsResult.Fail($"{key}:Model or {key}:ModelPath is required: set Model to a catalog id ({ids}), 'id:variant', or a model folder that holds genai_config.json.");
        foreach (var (adapter, file) in options.Adapters)
        {
            if (!RequestValidation.IsAdapterName(adapter))
                return ValidateOptionsResult.Fail($"{key}:Adapters:{adapter} is not a valid adapter name: use 1 to 64 letters, digits, '_', '-' or '.'.");
            if (string.IsNullOrWhiteSpace(file) || !File.Exists(file))
                return ValidateOptionsResult.Fail($"{key}:Adapters:{adapter} '{file}' does not exist. Set it to the path of an .onnx_adapter file made for this model.");
        }
        return hasPath ? CheckFolder($"{key}:ModelPath", options.ModelPath) : CheckModel($"{key}:Model", options.Model!.Trim(), options.ExecutionProvider, ids);
    }

    private ValidateOptionsResult CheckModel(string key, string model, ExecutionProvider provider, string ids)
    {
        if (Directory.Exists(model))
            return CheckFolder(key, model);
        if (!catalog.TryFind(model, out var entry, out string? variant))
        {
            return LooksLikePath(model)
                ? ValidateOptionsResult.Fail($"{key} '{model}' does not exist. Set it to a model folder that holds genai_config.json, or to a catalog id ({ids}).")
                : ValidateOptionsResult.Fail($"{key} '{model}' is neither a catalog id nor an existing folder. Known ids: {ids}. " +
                    $"Use one of these, 'id:variant', a model folder, or add your model under {ModelCatalog.ConfigurationSection}.");
        }
        try
        {
            // The same choice the download will make, so a missing variant or a model that cannot fit fails at start-up.
            var selection = ModelSelection.For(provider);
            selection.Variant = variant;
            ModelVariantSelector.Select(entry, selection, out _);
            return ValidateOptionsResult.Success;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return ValidateOptionsResult.Fail($"{key} '{model}': {e.Message}");
        }
    }

    private static ValidateOptionsResult CheckFolder(string key, string folder)
    {
        if (!Directory.Exists(folder))
            return ValidateOptionsResult.Fail($"{key} '{folder}' does not exist. Set it to a model folder that holds genai_config.json.");
        if (!File.Exists(Path.Combine(folder, "genai_config.json")))
            return ValidateOptionsResult.Fail($"{key} '{folder}' has no genai_config.json. Point it at an ONNX Runtime GenAI model folder.");
        return ValidateOptionsResult.Success;
    }

    private static bool LooksLikePath(string model) =>
        Path.IsPathRooted(model) || model.StartsWith('.') || model.StartsWith('~')
        || model.Contains('/', StringComparison.Ordinal) || model.Contains('\\', StringComparison.Ordinal);
}
