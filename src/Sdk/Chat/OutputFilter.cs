using System.Text;

namespace LocalLlm;

/// <summary>
/// Sits between the decoder and the caller, on the generation thread. It decides what text may be emitted
/// now and when generation must stop:
/// stop strings are matched on text (they may span tokens) and any suffix that could begin one is held back,
/// so no prefix of a matched stop string ever leaks; a JSON answer ends when its top-level value closes;
/// text from a tool-call marker on is held until the end and then parsed into calls.
/// </summary>
internal sealed class OutputFilter(IReadOnlyList<string> stopSequences, bool jsonOutput, bool toolsEnabled)
{
    private static readonly string[] s_toolMarkers = ["<tool_call>", "<|tool_call|>", "<|python_tag|>"];

    private readonly StringBuilder _pending = new();
    private readonly StringBuilder _toolText = new();
    private readonly JsonValueTracker? _json = jsonOutput ? new JsonValueTracker() : null;
    private bool _emittedNonWhitespace;
    private bool _inToolCall;

    /// <summary>All text emitted so far (for validation and tool parsing).</summary>
    public StringBuilder Emitted { get; } = new();

    /// <summary>True once a stop string matched or the JSON value closed.</summary>
    public bool Stopped { get; private set; }

    /// <summary>True when the stop was caused by a stop string.</summary>
    public bool StoppedBySequence { get; private set; }

    /// <summary>Adds decoded text; returns the text that may be shown now.</summary>
    public string Append(string piece)
    {
        if (Stopped || piece.Length == 0) return "";
        if (_json is not null)
        {
            int end = _json.Feed(piece);
            if (end >= 0)
            {
                piece = piece[..end];
                Stopped = true;
            }
        }
        if (_inToolCall)
        {
            _toolText.Append(piece);
            return "";
        }

        _pending.Append(piece);
        string text = _pending.ToString();

        int stopAt = FirstStop(text);
        if (stopAt >= 0)
        {
            text = text[..stopAt];
            Stopped = StoppedBySequence = true;
        }

        if (toolsEnabled && FindToolStart(text) is int toolAt and >= 0)
        {
            _inToolCall = true;
            _toolText.Append(text.AsSpan(toolAt));
            return Emit(text[..toolAt], keep: 0);
        }

        int hold = Stopped ? 0 : HoldBack(text);
        return Emit(text[..^hold], keep: hold);
    }

    /// <summary>Ends the output: returns text still held and the tool-call text, if any.</summary>
    public (string Text, string? ToolCallText) Finish()
    {
        string rest = _inToolCall || StoppedBySequence ? "" : _pending.ToString();
        _pending.Clear();
        Emitted.Append(rest);
        return (rest, _inToolCall ? _toolText.ToString() : null);
    }

    private string Emit(string text, int keep)
    {
        string pending = _pending.ToString();
        _pending.Clear();
        if (keep > 0) _pending.Append(pending, pending.Length - keep, keep);
        Emitted.Append(text);
        if (!_emittedNonWhitespace && !string.IsNullOrWhiteSpace(text)) _emittedNonWhitespace = true;
        return text;
    }

    private int FirstStop(string text) => FirstStop(text, stopSequences);

    /// <summary>Where the earliest of <paramref name="stops"/> begins in <paramref name="text"/>, or -1 (the one stop matcher: streams, beams, candidates).</summary>
    internal static int FirstStop(string text, IReadOnlyList<string> stops)
    {
        int best = -1;
        foreach (string stop in stops)
        {
            int i = text.IndexOf(stop, StringComparison.Ordinal);
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }

    private int FindToolStart(string text)
    {
        int best = -1;
        foreach (string marker in s_toolMarkers)
        {
            int i = text.IndexOf(marker, StringComparison.Ordinal);
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        // Llama 3.1 answers a call with a bare JSON object as the whole reply.
        if (best < 0 && !_emittedNonWhitespace && text.TrimStart().StartsWith('{')) best = text.IndexOf('{', StringComparison.Ordinal);
        return best;
    }

    /// <summary>Length of the longest suffix of <paramref name="text"/> that could still become a stop string or tool marker.</summary>
    private int HoldBack(string text)
    {
        int hold = 0;
        foreach (string s in toolsEnabled ? stopSequences.Concat(s_toolMarkers) : stopSequences)
        {
            for (int len = Math.Min(s.Length - 1, text.Length); len > hold; len--)
            {
                if (text.AsSpan(text.Length - len).SequenceEqual(s.AsSpan(0, len))) { hold = len; break; }
            }
        }
        // Leading whitespace may still turn into a Llama-style JSON call: hold it while nothing else was said.
        if (toolsEnabled && !_emittedNonWhitespace && string.IsNullOrWhiteSpace(text)) hold = text.Length;
        return hold;
    }

    /// <summary>Tracks JSON nesting outside strings to find where the first top-level value ends.</summary>
    private sealed class JsonValueTracker
    {
        private int _depth;
        private bool _started, _inString, _escape;

        /// <summary>Returns the index just past the value's end within <paramref name="piece"/>, or -1.</summary>
        public int Feed(string piece)
        {
            for (int i = 0; i < piece.Length; i++)
            {
                char c = piece[i];
                if (_inString)
                {
                    if (_escape) _escape = false;
                    else if (c == '\\') _escape = true;
                    else if (c == '"') _inString = false;
                    continue;
                }
                switch (c)
                {
                    case '"': _inString = true; break;
                    case '{' or '[': _depth++; _started = true; break;
                    case '}' or ']':
                        _depth--;
                        if (_started && _depth == 0) return i + 1;
                        break;
                }
            }
            return -1;
        }
    }
}
