using System.Globalization;
using LocalLlm.Models;
using Microsoft.Extensions.AI;
using Spectre.Console;

namespace LocalLlm.Samples.Chat;

/// <summary>Output: Spectre.Console colours, spinners and tables on a terminal; plain text (no ANSI) when redirected.</summary>
internal sealed class ConsoleView(bool rich)
{
    public T WithSpinner<T>(string what, Func<T> work)
    {
        if (!rich)
        {
            Console.WriteLine(what + " ...");
            return work();
        }
        return AnsiConsole.Status().Spinner(Spinner.Known.Dots).Start(Markup.Escape(what) + " ...", _ => work());
    }

    /// <summary>Runs a model download with a progress bar (a line per finished file when redirected).</summary>
    public async Task<T> WithDownloadProgress<T>(string what, Func<IProgress<ModelDownloadProgress>, Task<T>> work)
    {
        if (!rich)
        {
            Console.WriteLine(what + " ...");
            return await work(new FileLines());
        }
        return await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(),
                new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(what));
                task.IsIndeterminate = true; // until the sizes are known; a cached model reports nothing
                T result = await work(new Bar(task));
                task.IsIndeterminate = false;
                task.Value = task.MaxValue;
                return result;
            });
    }

    /// <summary>Spectre's tasks are thread-safe; reports arrive from the download threads.</summary>
    private sealed class Bar(ProgressTask task) : IProgress<ModelDownloadProgress>
    {
        public void Report(ModelDownloadProgress value)
        {
            if (value.BytesTotal is not long total) return;
            task.MaxValue = total;
            task.IsIndeterminate = false;
            task.Value = value.BytesDone;
        }
    }

    private sealed class FileLines : IProgress<ModelDownloadProgress>
    {
        private readonly Lock _gate = new();
        private int _filesDone;

        public void Report(ModelDownloadProgress value)
        {
            lock (_gate)
            {
                if (value.FilesDone <= _filesDone) return;
                _filesDone = value.FilesDone;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"downloaded {value.FilesDone}/{value.FilesTotal} files"));
            }
        }
    }

    public void Notice(string text)
    {
        if (rich) AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(text)}[/]");
        else Console.WriteLine(text);
    }

    public void Info(string text)
    {
        if (rich) AnsiConsole.MarkupLine($"[grey]{Markup.Escape(text)}[/]");
        else Console.WriteLine(text);
    }

    public void Error(string text)
    {
        if (rich) AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(text)}");
        else Console.Error.WriteLine("error: " + text);
    }

    public string? ReadPrompt()
    {
        if (rich) AnsiConsole.Markup("[bold green]you>[/] ");
        else Console.Write("you> ");
        return Console.ReadLine();
    }

    /// <summary>Shows a piped question, so the transcript reads like a conversation.</summary>
    public void Echo(string line)
    {
        if (rich) AnsiConsole.MarkupLine($"[bold green]you>[/] {Markup.Escape(line)}");
        else Console.WriteLine("you> " + line);
    }

    public void BeginAnswer()
    {
        if (rich) AnsiConsole.Markup("[bold blue]model>[/] ");
        else Console.Write("model> ");
    }

    public void AnswerText(string text)
    {
        if (rich) AnsiConsole.Write(new Text(text));
        else Console.Write(text);
    }

    public void EndAnswer()
    {
        if (rich) AnsiConsole.WriteLine();
        else Console.WriteLine();
    }

    /// <summary>Ends the answer with its timings: time to first token, decode rate and token counts.</summary>
    public void EndAnswer(GenerationStats stats, ChatFinishReason? reason)
    {
        EndAnswer();
        var c = CultureInfo.InvariantCulture;
        string line = string.Create(c,
            $"time to first token {ChatSession.Ms(stats.TimeToFirstToken)} · {stats.DecodeTokensPerSecond:F1} tok/s · {stats.OutputTokens} tokens (prompt {stats.PromptTokens})");
        if (reason == ChatFinishReason.Length) line += " · stopped at --max-tokens";
        Info(line);
    }

    public void Help(IEnumerable<(string Command, string What)> rows) => Table("Commands", rows);

    public void Table(string title, IEnumerable<(string Name, string Value)> rows)
    {
        if (!rich)
        {
            Console.WriteLine(title + ":");
            foreach (var (name, value) in rows) Console.WriteLine($"  {name}: {value}");
            return;
        }
        var table = new Table().Title(Markup.Escape(title)).AddColumn("").AddColumn("").HideHeaders().Border(TableBorder.Rounded);
        foreach (var (name, value) in rows) table.AddRow(Markup.Escape(name), Markup.Escape(value));
        AnsiConsole.Write(table);
    }
}
