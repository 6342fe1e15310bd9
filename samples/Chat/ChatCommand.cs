using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace LocalLlm.Samples.Chat;

/// <summary>The command line: <c>dotnet run --project samples/Chat -c Release -- --model &lt;id|folder&gt;</c>.</summary>
internal static class ChatCommand
{
    private static readonly Option<string?> s_model = new("--model", "-m")
    {
        Description = "A catalog id (phi-3.5-mini, or id:variant), downloaded on first use, or an ONNX Runtime GenAI model folder. Omit it for the built-in demo model.",
        HelpName = "id|folder",
    };
    private static readonly Option<string> s_ep = new("--ep")
    {
        Description = "Execution provider: auto (CUDA when it works, else CPU), cpu or cuda.",
        DefaultValueFactory = _ => "auto",
    };
    private static readonly Option<int> s_maxTokens = new("--max-tokens")
    {
        Description = "Most tokens per answer.",
        DefaultValueFactory = _ => 256,
    };
    private static readonly Option<float?> s_temperature = new("--temperature") { Description = "Sampling temperature (0 = greedy, the default)." };
    private static readonly Option<float?> s_topP = new("--top-p") { Description = "Nucleus sampling: keep the smallest set of tokens whose probability reaches p (0 < p <= 1)." };
    private static readonly Option<int?> s_topK = new("--top-k") { Description = "Sample among the k most likely tokens (k >= 1)." };
    private static readonly Option<long?> s_seed = new("--seed") { Description = "Random seed, for repeatable sampling." };

    public static RootCommand Create()
    {
        s_ep.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        s_maxTokens.Validators.Add(r => Check(r, r.GetValueOrDefault<int>() >= 1, "--max-tokens must be at least 1."));
        s_temperature.Validators.Add(r => Check(r, r.GetValueOrDefault<float?>() is not { } t || (float.IsFinite(t) && t >= 0), "--temperature must be a number >= 0."));
        s_topP.Validators.Add(r => Check(r, r.GetValueOrDefault<float?>() is not { } p || (p > 0 && p <= 1), "--top-p must be in (0, 1]."));
        s_topK.Validators.Add(r => Check(r, r.GetValueOrDefault<int?>() is not { } k || k >= 1, "--top-k must be at least 1."));

        var root = new RootCommand(
            "LocalLlm chat: talk to a local ONNX Runtime GenAI model. Type a message; /help lists commands. " +
            "With piped input, each line is one question.")
        {
            s_model, s_ep, s_maxTokens, s_temperature, s_topP, s_topK, s_seed,
        };
        root.SetAction((parse, ct) =>
        {
            var settings = new ChatSettings
            {
                Model = parse.GetValue(s_model),
                Provider = Enum.Parse<ExecutionProvider>(parse.GetValue(s_ep) ?? "auto", ignoreCase: true),
                MaxTokens = parse.GetValue(s_maxTokens),
                Temperature = parse.GetValue(s_temperature),
                TopP = parse.GetValue(s_topP),
                TopK = parse.GetValue(s_topK),
                Seed = parse.GetValue(s_seed),
            };
            return ChatApp.RunAsync(settings, ct);
        });
        return root;
    }

    private static void Check(OptionResult result, bool ok, string message)
    {
        if (!ok) result.AddError(message);
    }
}

/// <summary>What the command line asked for.</summary>
internal sealed record ChatSettings
{
    public string? Model { get; init; }
    public ExecutionProvider Provider { get; init; }
    public int MaxTokens { get; init; } = 256;
    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    public int? TopK { get; init; }
    public long? Seed { get; init; }

    public string Sampling => Temperature is null && TopP is null && TopK is null
        ? "greedy"
        : string.Create(CultureInfo.InvariantCulture, $"temperature {Temperature?.ToString(CultureInfo.InvariantCulture) ?? "1"}, top-p {TopP?.ToString(CultureInfo.InvariantCulture) ?? "-"}, top-k {TopK?.ToString(CultureInfo.InvariantCulture) ?? "-"}, seed {Seed?.ToString(CultureInfo.InvariantCulture) ?? "random"}");
}
