using System.Globalization;
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
