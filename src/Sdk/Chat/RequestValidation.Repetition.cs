namespace LocalLlm;

internal static partial class RequestValidation
{
    /// <summary>
    /// Largest counted repetition in a grammar's regex (nested counts multiply: <c>(x{100}){100}</c> is 10,000).
    /// llguidance recomputes the token mask over the expanded pattern at every step: on the demo model a literal
    /// <c>x{10000}</c> costs about 5 ms a token and <c>x{99999}</c> about 55 ms, so a long answer under such a grammar
    /// runs for minutes. Counts stay small in real patterns; open-ended repetition is <c>+</c> or <c>*</c>.
    /// </summary>
    public const int MaxRegexRepetition = 10_000;

    /// <summary>Refuses a regex (the regex grammar, a Lark grammar's terminals, a schema's "pattern") that repeats too much.</summary>
    private static void Repetition(string regex, string option, string what)
    {
        long largest = LargestRepetition(regex);
        if (largest > MaxRegexRepetition)
            throw new ArgumentException($"{what} repeats a piece {largest:N0} times (counted repetitions such as {{n}} multiply when nested); at most {MaxRegexRepetition:N0} are accepted, because the grammar engine recomputes every token's mask over the expanded pattern. Use + or * for open-ended repetition, or a smaller count.", option);
    }

    /// <summary>
    /// The largest product of nested counted repetitions (<c>{n}</c>, <c>{n,}</c>, <c>{n,m}</c>) in a regex. A light scan,
    /// not a parser: escapes and character classes are skipped, groups multiply; text that is not a quantifier counts as 1.
    /// </summary>
    internal static long LargestRepetition(string regex)
    {
        var groups = new Stack<(long LevelMax, long Last)>();
        long levelMax = 1, last = 1;
        for (int i = 0; i < regex.Length; i++)
        {
            char c = regex[i];
            switch (c)
            {
                case '\\':
                    i++;
                    // \p{L}, \x{41}, \u{41}: the braces belong to the escape, not a quantifier.
                    if (i + 1 < regex.Length && regex[i + 1] == '{' && regex[i] is 'p' or 'P' or 'x' or 'u')
                    {
                        int close = regex.IndexOf('}', i + 1);
                        i = close < 0 ? regex.Length : close;
                    }
                    last = 1;
                    break;
                case '[':
                    i = ClassEnd(regex, i);
                    last = 1;
                    break;
                case '(':
                    groups.Push((levelMax, last));
                    levelMax = 1;
                    last = 1;
                    break;
                case ')' when groups.Count > 0:
                    long group = levelMax;
                    (levelMax, _) = groups.Pop();
                    last = group;
                    levelMax = Math.Max(levelMax, last);
                    break;
                case '{' when Count(regex, i) is { } q:
                    last = q.Count > long.MaxValue / Math.Max(last, 1) ? long.MaxValue : last * q.Count;
                    levelMax = Math.Max(levelMax, last);
                    i = q.End;
                    break;
                default:
                    last = 1;
                    break;
            }
        }
        return levelMax;
    }

    /// <summary>The index of the ']' closing the class opened at <paramref name="open"/> (a leading ']' or '^]' is literal).</summary>
    private static int ClassEnd(string regex, int open)
    {
        int i = open + 1;
        if (i < regex.Length && regex[i] == '^') i++;
        if (i < regex.Length && regex[i] == ']') i++;
        for (; i < regex.Length; i++)
        {
            if (regex[i] == '\\') i++;
            else if (regex[i] == ']') return i;
        }
        return regex.Length;
    }

    /// <summary>A quantifier {n}, {n,} or {n,m} at <paramref name="open"/>: its larger bound and the index of its '}'.</summary>
    private static (long Count, int End)? Count(string regex, int open)
    {
        int close = regex.IndexOf('}', open + 1);
        if (close < 0) return null;
        string[] parts = regex[(open + 1)..close].Split(',');
        if (parts.Length > 2 || !long.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long low)) return null;
        long high = low;
        if (parts.Length == 2 && parts[1].Length > 0
            && !long.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out high)) return null;
        return (Math.Max(low, high), close);
    }
}
