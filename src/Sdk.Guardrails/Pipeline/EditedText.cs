namespace LocalLlm.Guardrails;

/// <summary>
/// A text after edits, remembering which source characters each piece of output came from, so that a stream can
/// release exactly the output of the source it has checked and never split a redaction.
/// </summary>
internal sealed class EditedText
{
    private readonly List<Piece> _pieces;
    private string? _text;

    public EditedText(string source)
    {
        SourceLength = source.Length;
        _pieces = [new Piece(source, 0, source.Length, Edited: false)];
        _text = source;
    }

    public int SourceLength { get; }

    public bool IsEdited => _pieces.Exists(p => p.Edited);

    public string Text => _text ??= string.Concat(_pieces.Select(p => p.Text));

    /// <summary>Applies non-overlapping edits given in the coordinates of <see cref="Text"/>.</summary>
    /// <exception cref="ArgumentException">An edit is out of range or overlaps another.</exception>
    public void Apply(IReadOnlyList<TextEdit> edits)
    {
        if (edits.Count == 0)
            return;
        var sorted = edits.OrderBy(e => e.Start).ThenBy(e => e.Length).ToArray();
        int length = Text.Length, previousEnd = 0;
        foreach (var e in sorted)
        {
            if (e.Start < previousEnd || e.Length < 0 || e.End > length || e.Replacement is null)
                throw new ArgumentException($"Edit at {e.Start} (length {e.Length}) is out of range or overlaps another edit of a {length}-character text.", nameof(edits));
            previousEnd = e.End;
        }
        // Last edit first: positions before it stay valid.
        for (int i = sorted.Length - 1; i >= 0; i--)
            ApplyOne(sorted[i]);
        _text = null;
    }

    private void ApplyOne(TextEdit edit)
    {
        int start = edit.Start, end = edit.End;
        var result = new List<Piece>(_pieces.Count + 2);
        var before = new System.Text.StringBuilder();
        string after = "";
        Piece? tail = null;
        int sourceStart = -1, sourceEnd = -1, pos = 0, i = 0;
        for (; i < _pieces.Count; i++)
        {
            var p = _pieces[i];
            int pEnd = pos + p.Text.Length;
            if (pEnd <= start)
            {
                result.Add(p);
                pos = pEnd;
                continue;
            }
            if (pos >= end && pos >= start)
                break;
            // p overlaps the edit. An edited piece is never split: its text outside the edit joins the new piece.
            int from = Math.Max(start, pos) - pos, to = Math.Min(end, pEnd) - pos;
            if (p.Edited)
            {
                before.Append(p.Text, 0, from);
                after = p.Text[to..];
                Union(p.SourceStart, p.SourceEnd);
            }
            else
            {
                if (from > 0)
                    result.Add(Slice(p, 0, from));
                Union(p.SourceStart + from, p.SourceStart + to);
                if (to < p.Text.Length)
                    tail = Slice(p, to, p.Text.Length);
            }
            pos = pEnd;
        }
        if (sourceStart < 0)
            sourceStart = sourceEnd = i < _pieces.Count ? _pieces[i].SourceStart : SourceLength;
        result.Add(new Piece(before.Append(edit.Replacement).Append(after).ToString(), sourceStart, sourceEnd, Edited: true));
        if (tail is { } t)
            result.Add(t);
        for (; i < _pieces.Count; i++)
            result.Add(_pieces[i]);
        _pieces.Clear();
        _pieces.AddRange(result);

        void Union(int s, int e)
        {
            sourceStart = sourceStart < 0 ? s : Math.Min(sourceStart, s);
            sourceEnd = Math.Max(sourceEnd, e);
        }
    }

    /// <summary>
    /// The output of the source characters before <paramref name="cut"/>: whole pieces that end there, and the unedited
    /// text of a piece the cut splits. An edited piece the cut splits is held back whole, so a redaction is never split.
    /// </summary>
    public string OutputBefore(int cut)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var p in _pieces)
        {
            if (p.SourceEnd <= cut && !(p.SourceStart == cut && p.Edited && p.SourceEnd == cut && cut < SourceLength))
            {
                sb.Append(p.Text);
                continue;
            }
            if (!p.Edited && p.SourceStart < cut)
                sb.Append(p.Text, 0, cut - p.SourceStart);
            break;
        }
        return sb.ToString();
    }

    /// <summary>
    /// The output of the source characters from <paramref name="from"/> up to <paramref name="cut"/> (as
    /// <see cref="OutputBefore"/> cuts), and the source position the output ends at; null when an edit spans
    /// <paramref name="from"/>, which would change output before it (already released by a stream).
    /// </summary>
    public (string Text, int SourceEnd)? OutputBetween(int from, int cut)
    {
        var sb = new System.Text.StringBuilder();
        int end = from;
        foreach (var piece in _pieces)
        {
            var p = piece;
            bool insertionAtFrom = p.Edited && p.SourceStart == from && p.SourceEnd == from;
            if (p.SourceEnd <= from && !insertionAtFrom)
                continue; // output that was released before
            if (p.SourceStart < from)
            {
                if (p.Edited)
                    return null;
                p = Slice(p, from - p.SourceStart, p.Text.Length);
            }
            if (p.SourceEnd <= cut && !(p.SourceStart == cut && p.Edited && p.SourceEnd == cut && cut < SourceLength))
            {
                sb.Append(p.Text);
                end = p.SourceEnd;
                continue;
            }
            if (!p.Edited && p.SourceStart < cut)
            {
                sb.Append(p.Text, 0, cut - p.SourceStart);
                end = cut;
            }
            break;
        }
        return (sb.ToString(), end);
    }

    private static Piece Slice(Piece p, int from, int to) =>
        new(p.Text[from..to], p.SourceStart + from, p.SourceStart + to, Edited: false);

    private readonly record struct Piece(string Text, int SourceStart, int SourceEnd, bool Edited);
}
