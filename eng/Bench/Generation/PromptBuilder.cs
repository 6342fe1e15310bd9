namespace LocalLlm.Bench.Generation;

/// <summary>Builds plain English prompt text that a model's tokenizer turns into exactly (or just under) N tokens.</summary>
internal static class PromptBuilder
{
    private static readonly string[] s_words =
        ("local models answer questions about the weather in paris and the price of bread while the cache keeps " +
         "every key and value of the attention layers so that the next token costs one step instead of a whole " +
         "prompt and the planner checks that memory stays inside the budget of a small machine").Split(' ');

    public static string ForTokens(Tokenizer tokenizer, int tokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tokens);
        // Binary search on the word count: token count grows monotonically with it.
        int low = 1, high = tokens + 1;
        while (low < high)
        {
            int mid = low + ((high - low + 1) / 2);
            if (Count(tokenizer, Words(mid)) <= tokens)
                low = mid;
            else
                high = mid - 1;
        }
        string text = Words(low);
        // Byte-level tokenizers split words into several tokens: pad with single characters up to the target.
        var sb = new StringBuilder(text);
        while (Count(tokenizer, sb.ToString() + ".") <= tokens && Count(tokenizer, sb.ToString()) < tokens)
            sb.Append('.');
        return sb.ToString();
    }

    public static int Count(Tokenizer tokenizer, string text)
    {
        using Sequences s = tokenizer.Encode(text);
        return s[0].Length;
    }

    private static string Words(int n)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < n; i++)
        {
            if (i > 0)
                sb.Append(' ');
            sb.Append(s_words[i % s_words.Length]);
        }
        return sb.ToString();
    }
}
