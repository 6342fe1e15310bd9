using System.Text.Encodings.Web;
using System.Text.Json;

namespace LocalLlm.ModelForge.Tokenization;

/// <summary>Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json for <see cref="ByteTokenizer"/>.</summary>
internal static class TokenizerFiles
{
    internal static readonly JsonWriterOptions Json = new()
    {
        Indented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // byte-level characters stay readable
    };

    public static void Write(string folder, int vocabSize, int contextLength)
    {
        WriteJson(Path.Combine(folder, "tokenizer.json"), w => TokenizerJson(w, vocabSize));
        WriteJson(Path.Combine(folder, "tokenizer_config.json"), w => TokenizerConfig(w, contextLength));
        WriteJson(Path.Combine(folder, "special_tokens_map.json"), SpecialTokensMap);
    }

    internal static void WriteJson(string path, Action<Utf8JsonWriter> body)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        using (var w = new Utf8JsonWriter(file, Json))
            body(w);
        file.WriteByte((byte)'\n');
    }

    /// <summary>GPT-2's byte-to-unicode table: printable Latin-1 bytes map to themselves, the rest to U+0100 onwards.</summary>
    internal static char[] ByteToUnicode()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    private static void TokenizerJson(Utf8JsonWriter w, int vocabSize)
    {
        w.WriteStartObject();
        w.WriteString("version", "1.0");
        w.WriteNull("truncation");
        w.WriteNull("padding");
        w.WriteStartArray("added_tokens");
        for (int i = 0; i < ByteTokenizer.SpecialTokens.Count; i++)
        {
            int id = ByteTokenizer.EndOfText + i;
            w.WriteStartObject();
            w.WriteNumber("id", id);
            w.WriteString("content", ByteTokenizer.SpecialTokens[i]);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("normalized", false);
            w.WriteBoolean("special", ByteTokenizer.IsSpecial(id));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNull("normalizer");
        w.WritePropertyName("pre_tokenizer");
        ByteLevel(w);
        w.WriteNull("post_processor");
        w.WritePropertyName("decoder");
        ByteLevel(w);
        w.WriteStartObject("model");
        w.WriteString("type", "BPE");
        w.WriteNull("dropout");
        w.WriteNull("unk_token");
        w.WriteNull("continuing_subword_prefix");
        w.WriteNull("end_of_word_suffix");
        w.WriteBoolean("fuse_unk", false);
        w.WriteBoolean("byte_fallback", false);
        w.WriteBoolean("ignore_merges", false);
        w.WriteStartObject("vocab");
        char[] bytes = ByteToUnicode();
        for (int b = 0; b < 256; b++)
            w.WriteNumber(bytes[b].ToString(), b);
        // Fillers up to the model's vocabulary: multi-character entries no merge can reach, so encoding never
        // produces them, while any id the model emits still decodes.
        for (int id = ByteTokenizer.BaseVocabSize; id < vocabSize; id++)
            w.WriteNumber(ByteTokenizer.FillerToken(id), id);
        w.WriteEndObject();
        w.WriteStartArray("merges");
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void ByteLevel(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", false);
        w.WriteBoolean("trim_offsets", false);
        w.WriteBoolean("use_regex", true);
        w.WriteEndObject();
    }

    private static void TokenizerConfig(Utf8JsonWriter w, int contextLength)
    {
        w.WriteStartObject();
        w.WriteBoolean("add_bos_token", false);
        w.WriteBoolean("add_eos_token", false);
        w.WriteBoolean("add_prefix_space", false);
        w.WriteStartObject("added_tokens_decoder");
        for (int i = 0; i < ByteTokenizer.SpecialTokens.Count; i++)
        {
            int id = ByteTokenizer.EndOfText + i;
            w.WriteStartObject(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("content", ByteTokenizer.SpecialTokens[i]);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("normalized", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("special", ByteTokenizer.IsSpecial(id));
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteStartArray("additional_special_tokens");
        w.WriteStringValue("<|im_start|>");
        w.WriteStringValue("<|im_end|>");
        w.WriteEndArray();
        w.WriteNull("bos_token");
        w.WriteString("chat_template", ChatTemplate.Jinja);
        w.WriteBoolean("clean_up_tokenization_spaces", false);
        w.WriteString("eos_token", "<|im_end|>");
        w.WriteString("errors", "replace");
        w.WriteNumber("model_max_length", contextLength);
        w.WriteString("pad_token", "<|endoftext|>");
        w.WriteBoolean("split_special_tokens", false);
        w.WriteString("tokenizer_class", "GPT2Tokenizer");
        w.WriteNull("unk_token");
        w.WriteEndObject();
    }

    private static void SpecialTokensMap(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartArray("additional_special_tokens");
        w.WriteStringValue("<|im_start|>");
        w.WriteStringValue("<|im_end|>");
        w.WriteEndArray();
        w.WriteString("eos_token", "<|im_end|>");
        w.WriteString("pad_token", "<|endoftext|>");
        w.WriteEndObject();
    }
}
