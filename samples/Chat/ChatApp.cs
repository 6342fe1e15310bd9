using System.Globalization;
using LocalLlm.Models;
using Microsoft.Extensions.AI;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm.Samples.Chat;

/// <summary>Loads the model, then answers questions from the terminal (a REPL) or from piped input (one per line).</summary>
internal static class ChatApp
{
    /// <summary>What the README's command shows when nobody types: stdin is empty or closed.</summary>
    internal static readonly string[] DemoExchange =
    [
        // The demo model repeats the last 64 characters, so each line ends with a 64-character sentence.
        "Hello! Please say this back: Answers stream token by token from a local model on your laptop.",
        "And this one: Everything stays local: no network, no API keys, no cloud bills.",
        "/stats",
    ];

    public static async Task<int> RunAsync(ChatSettings settings, CancellationToken cancellationToken)
    {
        bool interactive = !Console.IsInputRedirected;
        var view = new ConsoleView(rich: !Console.IsOutputRedirected);

        string? folder = settings.Model;
        bool demo = folder is null;
        if (demo)
        {
            folder = view.WithSpinner("Preparing the demo model", DemoModel.GetOrCreate);
            view.Notice(DemoModel.Notice);
            view.Notice(DemoModel.RealModelHint);
        }
        else
        {
            try
            {
                // A folder comes back as is; a catalog id is downloaded into the cache on first use.
                folder = await view.WithDownloadProgress($"Downloading {settings.Model}",
                    progress => CatalogModels.ResolveAsync(settings.Model!, settings.Provider, progress, cancellationToken));
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or ModelDownloadException)
            {
                view.Error(e.Message);
                return 1;
            }
        }

        LocalModel model;
        try
        {
            model = view.WithSpinner($"Loading {folder}", () => LocalModel.Load(folder!, new LocalModelOptions { ExecutionProvider = settings.Provider }));
        }
        catch (Exception e) when (e is ModelFolderException or ExecutionProviderException or ArgumentException or OnnxRuntimeGenAIException)
        {
            view.Error(e.Message);
            return 1;
        }

        using (model)
        using (var client = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { DefaultMaxOutputTokens = settings.MaxTokens }))
        {
            var info = model.Info;
            view.Info(string.Create(CultureInfo.InvariantCulture,
                $"Model {info.Id}: {info.Precision}, {info.Layers} layer(s), context {info.ContextLength}, on {info.Provider} ({info.ProviderReason}). Sampling: {settings.Sampling}."));

            var session = new ChatSession(client, view, settings, demo ? DemoModel.SystemPrompt : null);
            if (interactive)
            {
                view.Info("Type a message; /help lists commands; Ctrl+C stops an answer; Ctrl+D or /exit quits.");
                return await session.RunInteractiveAsync(cancellationToken);
            }

            var lines = ReadLines(Console.In).ToList();
            if (!lines.Any(l => !string.IsNullOrWhiteSpace(l)))
            {
                view.Info("No input: running a short demo exchange. Type messages in a terminal, or pipe them in, one per line.");
                lines = [.. DemoExchange];
            }
            return await session.RunScriptAsync(lines, cancellationToken);
        }
    }

    private static IEnumerable<string> ReadLines(TextReader reader)
    {
        while (reader.ReadLine() is { } line)
            yield return line;
    }
}
