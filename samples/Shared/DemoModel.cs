using LocalLlm.ModelForge;

namespace LocalLlm.Samples;

/// <summary>
/// The built-in demo model: a one-layer ModelForge "copy" network whose weights are designed, not trained. Through
/// the ChatML template it answers with the last <see cref="EchoTokens"/> tokens (bytes) of the user's message, so
/// the samples run end to end on any machine, offline, in well under a second. It is not a language model.
/// </summary>
internal static class DemoModel
{
    /// <summary>How many tokens of the user's message the demo repeats (one token per byte).</summary>
    public const int EchoTokens = 64;

    /// <summary>Tokens after the user's text in a ChatML prompt: <c>&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n</c>.</summary>
    public const int TemplateTailTokens = 13;

    /// <summary>A system prompt at least <see cref="EchoTokens"/> long, so a short first message still has a window to copy.</summary>
    public const string SystemPrompt =
        "You are the LocalLlm demo model, designed by ModelForge. You repeat the last 64 characters of each message.";

    /// <summary>What the user should read before the first answer.</summary>
    public const string Notice =
        "Demo model: a tiny network designed by ModelForge (not trained, not a language model). It repeats the last 64 characters of your message.";

    /// <summary>How to run a real model instead.</summary>
    public const string RealModelHint =
        "For real answers, download an ONNX Runtime GenAI model folder (e.g. Phi-3.5-mini-instruct cpu-int4, see docs/samples.md) and pass --model <folder>.";

    /// <summary>The forge options of the demo model.</summary>
    public static ForgeOptions Options { get; } = new() { Design = ModelDesign.Copy, Lag = TemplateTailTokens + EchoTokens };

    /// <summary>The demo model's folder, written into the ModelForge cache on first use (~/.cache/localllm/forge).</summary>
    public static string GetOrCreate() => ForgedModels.GetOrCreate(Options);
}
