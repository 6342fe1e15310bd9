namespace LocalLlm.Bench.Reporting;

/// <summary>A Markdown table built row by row.</summary>
internal sealed class MarkdownTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public MarkdownTable Row(params string[] cells)
    {
        _rows.Add(cells);
        return this;
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("| ").Append(string.Join(" | ", headers)).AppendLine(" |");
        sb.Append("| ").Append(string.Join(" | ", headers.Select((_, i) => i == 0 ? "---" : "---:"))).AppendLine(" |");
        foreach (string[] row in _rows)
            sb.Append("| ").Append(string.Join(" | ", row)).AppendLine(" |");
        return sb.ToString();
    }
}
