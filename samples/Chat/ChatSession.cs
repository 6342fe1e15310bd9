using System.Globalization;
using Microsoft.Extensions.AI;

namespace LocalLlm.Samples.Chat;

/// <summary>The conversation: history, commands (/reset, /stats, /system, /help) and streamed answers.</summary>
internal sealed class ChatSession(IChatClient client, ConsoleView view, ChatSettings settings, string? systemPrompt)
{
    private readonly List<ChatMessage> _history = systemPrompt is null ? [] : [new(ChatRole.System, systemPrompt)];
    private GenerationStats? _last;
    private int _answers;
    private int _failures;
    private long _outputTokens;
    private TimeSpan _decodeTime;
    private CancellationTokenSource? _answering;

    /// <summary>The REPL: Ctrl+C stops the answer being written; Ctrl+D (end of input) or /exit quits.</summary>
    public async Task<int> RunInteractiveAsync(CancellationToken cancellationToken)
    {
        Console.CancelKeyPress += (_, e) =>
        {
            if (Volatile.Read(ref _answering) is { } answering)
            {
                e.Cancel = true; // keep the process, stop the answer
                answering.Cancel();
            }
        };
        while (!cancellationToken.IsCancellationRequested)
        {
            string? line = view.ReadPrompt();
            if (line is null) break;
            if (!await HandleAsync(line, cancellationToken)) break;
        }
        return 0;
    }

    /// <summary>Piped input: each line is a question or a command. Exit code 1 when any answer failed.</summary>
    public async Task<int> RunScriptAsync(IEnumerable<string> lines, CancellationToken cancellationToken)
    {
        foreach (string line in lines)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            view.Echo(line);
            if (!await HandleAsync(line, cancellationToken)) break;
        }
        return _failures == 0 ? 0 : 1;
    }

    /// <returns>False when the user asked to quit.</returns>
    private async Task<bool> HandleAsync(string line, CancellationToken cancellationToken)
    {
        line = line.Trim();
        if (line.Length == 0) return true;
        if (!line.StartsWith('/'))
        {
            await AnswerAsync(line, cancellationToken);
            return true;
        }

        string command = line.Split(' ', 2)[0].ToLowerInvariant();
        string argument = line.Length > command.Length ? line[command.Length..].Trim() : "";
        switch (command)
        {
            case "/exit" or "/quit":
                return false;
            case "/reset":
                _history.RemoveAll(m => m.Role != ChatRole.System);
                view.Info("Conversation cleared (the system prompt stays).");
                break;
            case "/system":
                _history.RemoveAll(m => m.Role == ChatRole.System);
                if (argument.Length > 0) _history.Insert(0, new ChatMessage(ChatRole.System, argument));
                view.Info(argument.Length > 0 ? "System prompt set." : "System prompt removed.");
                break;
            case "/stats":
                ShowStats();
                break;
            case "/help":
                view.Help(
                [
                    ("/reset", "forget the conversation (keeps the system prompt)"),
                    ("/system <text>", "set the system prompt (empty removes it)"),
                    ("/stats", "timings and token counts so far"),
                    ("/help", "this list"),
                    ("/exit", "quit (or Ctrl+D); Ctrl+C stops an answer"),
                ]);
                break;
            default:
                view.Error($"Unknown command {command}; /help lists commands.");
                break;
        }
        return true;
    }

    private async Task AnswerAsync(string question, CancellationToken cancellationToken)
    {
        _history.Add(new ChatMessage(ChatRole.User, question));
        var options = new ChatOptions
        {
            MaxOutputTokens = settings.MaxTokens,
            Temperature = settings.Temperature,
            TopP = settings.TopP,
            TopK = settings.TopK,
            Seed = settings.Seed,
        };
        var updates = new List<ChatResponseUpdate>();
        using var answering = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Volatile.Write(ref _answering, answering);
        view.BeginAnswer();
        try
        {
            await foreach (var update in client.GetStreamingResponseAsync(_history, options, answering.Token))
            {
                updates.Add(update);
                if (update.Text.Length > 0) view.AnswerText(update.Text);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            view.EndAnswer();
            view.Info("(stopped)");
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException)
        {
            // Bad options or a prompt that does not fit: say why, forget the question, keep the session.
            view.EndAnswer();
            view.Error(e.Message);
            _history.RemoveAt(_history.Count - 1);
            _failures++;
            return;
        }
        finally
        {
            Volatile.Write(ref _answering, null);
        }

        _history.AddMessages(updates);
        if (updates.Count == 0 || updates[^1].GetGenerationStats() is not { } stats)
        {
            view.EndAnswer();
            return;
        }
        view.EndAnswer(stats, updates[^1].FinishReason);
        _last = stats;
        _answers++;
        _outputTokens += stats.OutputTokens;
        _decodeTime += stats.DecodeTime;
    }

    private void ShowStats()
    {
        if (_last is not { } last)
        {
            view.Info("No answers yet.");
            return;
        }
        var c = CultureInfo.InvariantCulture;
        double rate = _decodeTime > TimeSpan.Zero ? (_outputTokens - _answers) / _decodeTime.TotalSeconds : 0;
        view.Table("Statistics",
        [
            ("answers", _answers.ToString(c)),
            ("messages in history", _history.Count.ToString(c)),
            ("output tokens (all answers)", _outputTokens.ToString(c)),
            ("decode rate (all answers)", rate.ToString("F1", c) + " tok/s"),
            ("last: prompt tokens", last.PromptTokens.ToString(c)),
            ("last: reused prompt tokens", last.ReusedPromptTokens.ToString(c)),
            ("last: output tokens", last.OutputTokens.ToString(c)),
            ("last: queue time", Ms(last.QueueTime)),
            ("last: time to first token", Ms(last.TimeToFirstToken)),
            ("last: prefill rate", last.PrefillTokensPerSecond.ToString("F1", c) + " tok/s"),
            ("last: decode rate", last.DecodeTokensPerSecond.ToString("F1", c) + " tok/s"),
        ]);
    }

    internal static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture) + " ms";
}
