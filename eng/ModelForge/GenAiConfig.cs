using System.Text.Json;
using LocalLlm.ModelForge.Onnx;
using LocalLlm.ModelForge.Tokenization;

namespace LocalLlm.ModelForge;

/// <summary>Writes genai_config.json for a forged decoder.</summary>
internal static class GenAiConfig
{
    public static void Write(string path, DecoderSpec spec) => TokenizerFiles.WriteJson(path, w =>
    {
        bool gqa = spec.Attention == AttentionKind.GroupQueryAttention;
        w.WriteStartObject();
        w.WriteStartObject("model");
        w.WriteNumber("bos_token_id", ByteTokenizer.EndOfText);
        w.WriteNumber("context_length", spec.Context);
        w.WriteStartObject("decoder");
        w.WriteStartObject("session_options");
        w.WriteString("log_id", "onnxruntime-genai");
        w.WriteStartArray("provider_options");
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteString("filename", "model.onnx");
        w.WriteNumber("head_size", spec.HeadSize);
        w.WriteNumber("hidden_size", spec.Hidden);
        w.WriteStartObject("inputs");
        w.WriteString(spec.InputsEmbeds ? "inputs_embeds" : "input_ids", spec.SequenceInput);
        w.WriteString("attention_mask", "attention_mask");
        if (!gqa)
            w.WriteString("position_ids", "position_ids");
        w.WriteString("past_key_names", "past_key_values.%d.key");
        w.WriteString("past_value_names", "past_key_values.%d.value");
        w.WriteEndObject();
        w.WriteStartObject("outputs");
        w.WriteString("logits", "logits");
        w.WriteString("present_key_names", "present.%d.key");
        w.WriteString("present_value_names", "present.%d.value");
        w.WriteEndObject();
        w.WriteNumber("num_attention_heads", spec.Heads);
        w.WriteNumber("num_hidden_layers", spec.Layers);
        w.WriteNumber("num_key_value_heads", spec.KvHeads);
        w.WriteEndObject();
        if (spec.InputsEmbeds)
            VisionSections(w);
        w.WriteStartArray("eos_token_id");
        foreach (int id in ByteTokenizer.EosTokenIds)
            w.WriteNumberValue(id);
        w.WriteEndArray();
        w.WriteNumber("pad_token_id", ByteTokenizer.EndOfText);
        w.WriteString("type", spec.InputsEmbeds ? "phi3v" : "llama");
        w.WriteNumber("vocab_size", spec.Vocab);
        w.WriteEndObject();
        w.WriteStartObject("search");
        w.WriteNumber("diversity_penalty", 0.0);
        w.WriteBoolean("do_sample", false);
        w.WriteBoolean("early_stopping", true);
        w.WriteNumber("length_penalty", 1.0);
        w.WriteNumber("max_length", spec.Context);
        w.WriteNumber("min_length", 0);
        w.WriteNumber("no_repeat_ngram_size", 0);
        w.WriteNumber("num_beams", 1);
        w.WriteNumber("num_return_sequences", 1);
        w.WriteBoolean("past_present_share_buffer", gqa);
        w.WriteNumber("repetition_penalty", 1.0);
        w.WriteNumber("temperature", 1.0);
        w.WriteNumber("top_k", 50);
        w.WriteNumber("top_p", 1.0);
        w.WriteEndObject();
        w.WriteEndObject();
    });

    /// <summary>phi3v's embedding and vision graphs (<see cref="VisionModel"/>) and its processor config.</summary>
    private static void VisionSections(System.Text.Json.Utf8JsonWriter w)
    {
        Section(w, "embedding", "embedding.onnx", null, ["input_ids", "image_features"], ["inputs_embeds"]);
        Section(w, "vision", "vision.onnx", "processor_config.json", ["pixel_values", "image_sizes"], ["image_features"]);
    }

    private static void Section(System.Text.Json.Utf8JsonWriter w, string name, string file, string? processorConfig, string[] inputs, string[] outputs)
    {
        w.WriteStartObject(name);
        w.WriteString("filename", file);
        if (processorConfig is not null) w.WriteString("config_filename", processorConfig);
        foreach (var (key, names) in new[] { ("inputs", inputs), ("outputs", outputs) })
        {
            w.WriteStartObject(key);
            foreach (string n in names) w.WriteString(n, n);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
