using Microsoft.Extensions.Options;

namespace LocalLlm.Embeddings;

/// <summary>Range checks, generated from the data annotations.</summary>
[OptionsValidator]
internal sealed partial class LocalEmbeddingOptionsValidator : IValidateOptions<LocalEmbeddingOptions>;

/// <summary>A ModelPath, when set, is a folder with model.onnx and vocab.txt.</summary>
internal sealed class LocalEmbeddingFolderValidator : IValidateOptions<LocalEmbeddingOptions>
{
    public ValidateOptionsResult Validate(string? name, LocalEmbeddingOptions options)
    {
        string key = $"{LocalEmbeddingOptions.SectionName}:ModelPath";
        if (string.IsNullOrWhiteSpace(options.ModelPath))
            return ValidateOptionsResult.Success;
        if (!Directory.Exists(options.ModelPath))
            return ValidateOptionsResult.Fail($"{key} '{options.ModelPath}' does not exist. Set it to a folder with model.onnx and vocab.txt, or leave it empty for the built-in {LocalEmbeddingOptions.BuiltInModelId}.");
        foreach (string file in (string[])["model.onnx", "vocab.txt"])
            if (!File.Exists(Path.Combine(options.ModelPath, file)))
                return ValidateOptionsResult.Fail($"{key} '{options.ModelPath}' has no {file}. An encoder folder holds model.onnx (ONNX, BERT family) and vocab.txt (its WordPiece vocabulary).");
        return ValidateOptionsResult.Success;
    }
}
