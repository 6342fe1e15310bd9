using System.Globalization;
using System.Text;

namespace LocalLlm.ModelForge;

/// <summary>
/// The forged models' tokenizer in managed code: token id b (0..255) is the byte b, followed by the special
/// tokens below; ids from <see cref="BaseVocabSize"/> up to the model's vocabulary size are fillers that decode
/// to "&lt;id&gt;" and are never produced by encoding. Any UTF-8 text round-trips. Matches the native tokenizer
/// that ONNX Runtime GenAI builds from the forged tokenizer.json.
/// </summary>
public static class ByteTokenizer
{
    /// <summary>&lt;|endoftext|&gt;: end of text, also the pad token.</summary>
    public const int EndOfText = 256;

    /// <summary>&lt;|im_start|&gt;: starts a ChatML message.</summary>
    public const int ImStart = 257;

    /// <summary>&lt;|im_end|&gt;: ends a ChatML message (the end-of-turn token).</summary>
    public const int ImEnd = 258;

    /// <summary>&lt;tool_call&gt;.</summary>
    public const int ToolCallStart = 259;

    /// <summary>&lt;/tool_call&gt;.</summary>
    public const int ToolCallEnd = 260;

    /// <summary>256 byte tokens plus the special tokens.</summary>
    public const int BaseVocabSize = 261;

    /// <summary>Token ids that end generation (genai_config eos_token_id).</summary>
    public static IReadOnlyList<int> EosTokenIds { get; } = [ImEnd, EndOfText];

    /// <summary>The special tokens by id (ids 256..260).</summary>
    public static IReadOnlyList<string> SpecialTokens { get; } =
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>"];

    /// <summary>Encodes text: special-token strings become their ids, everything else its UTF-8 bytes.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public static int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length);
        int start = 0;
        while (start < text.Length)
        {
            int bestAt = -1, bestToken = -1;
            for (int i = 0; i < SpecialTokens.Count; i++)
            {
                int at = text.IndexOf(SpecialTokens[i], start, StringComparison.Ordinal);
                if (at >= 0 && (bestAt < 0 || at < bestAt))
                {
                    bestAt = at;
                    bestToken = i;
                }
            }
            int end = bestAt < 0 ? text.Length : bestAt;
            foreach (byte b in Encoding.UTF8.GetBytes(text[start..end]))
                ids.Add(b);
            if (bestAt < 0)
                break;
            ids.Add(EndOfText + bestToken);
            start = bestAt + SpecialTokens[bestToken].Length;
        }
        return [.. ids];
    }

    /// <summary>Decodes ids to text; invalid UTF-8 byte sequences become U+FFFD.</summary>
    /// <param name="ids">Token ids (negative ids are rejected).</param>
    /// <param name="skipSpecialTokens">Leave the special tokens (see <see cref="IsSpecial"/>) out of the text, as
    /// ONNX Runtime GenAI's Tokenizer.Decode and TokenizerStream do.</param>
    /// <exception cref="ArgumentOutOfRangeException">An id is negative.</exception>
    public static string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
    {
        var text = new StringBuilder();
        var bytes = new List<byte>();
        void Flush()
        {
            text.Append(Encoding.UTF8.GetString([.. bytes]));
            bytes.Clear();
        }
        foreach (int id in ids)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(id, nameof(ids));
            if (id < 256)
            {
                bytes.Add((byte)id);
                continue;
            }
            Flush();
            if (id < BaseVocabSize)
            {
                if (!skipSpecialTokens || !IsSpecial(id))
                    text.Append(SpecialTokens[id - EndOfText]);
            }
            else
            {
                text.Append(FillerToken(id));
            }
        }
        Flush();
        return text.ToString();
    }

    /// <summary>True for the special tokens that skip-special decoding leaves out (&lt;|endoftext|&gt;, &lt;|im_start|&gt;,
    /// &lt;|im_end|&gt;); the tool-call tags are added tokens but not special, as in Qwen2.5.</summary>
    public static bool IsSpecial(int id) => id is >= EndOfText and <= ImEnd;

    /// <summary>The text of a filler token (ids at or above <see cref="BaseVocabSize"/>).</summary>
    public static string FillerToken(int id) => string.Create(CultureInfo.InvariantCulture, $"<{id}>");
}
