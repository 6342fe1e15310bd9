using LocalLlm.ModelForge.Onnx;
using LocalLlm.ModelForge.Tokenization;

namespace LocalLlm.ModelForge;

/// <summary>Writes complete ONNX Runtime GenAI model folders.</summary>
public static class Forge
{
    /// <summary>The files every forged folder contains (plus model.onnx.data when a tensor is over 1 KB).</summary>
    public static IReadOnlyList<string> FileNames { get; } =
        ["model.onnx", "genai_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

    /// <summary>
    /// Writes model.onnx (+ model.onnx.data), genai_config.json, tokenizer.json, tokenizer_config.json and
    /// special_tokens_map.json into <paramref name="outputDirectory"/> (created if missing; these files are
    /// overwritten). The same options always produce byte-identical files.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">An option is invalid (the message names it) or the path is empty.</exception>
    public static void Write(ForgeOptions options, string outputDirectory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        options.Validate();
        Directory.CreateDirectory(outputDirectory);
        string modelPath = Path.Combine(outputDirectory, "model.onnx");
        File.Delete(modelPath + ".data"); // a stale data file from a bigger model must not survive

        var (spec, weights) = options.Design == ModelDesign.Random
            ? RandomModel.Create(options)
            : DesignedModel.Create(options);
        DecoderGraph.Write(spec, weights, modelPath);
        GenAiConfig.Write(Path.Combine(outputDirectory, "genai_config.json"), spec);
        TokenizerFiles.Write(outputDirectory, spec.Vocab, spec.Context);
    }
}
