using System.Text.Json;
using System.Text.Json.Nodes;

namespace LocalLlm;

/// <summary>
/// Reads and checks a model folder before native code sees it, so a bad folder fails with a message
/// that names the file and the fix instead of a native error.
/// </summary>
internal sealed class ModelFolder
{
    private ModelFolder(string path) => Path = path;

    public string Path { get; }
    public string ModelType { get; private set; } = "";
    public int VocabSize { get; private set; }
    public int ContextLength { get; private set; }
    public int Layers { get; private set; }
    public int Heads { get; private set; }
    public int KvHeads { get; private set; }
    public int HeadSize { get; private set; }
    public int HiddenSize { get; private set; }
    public bool PastPresentShareBuffer { get; private set; }
    public IReadOnlyList<int> EosTokenIds { get; private set; } = [];
    public string DecoderFile { get; private set; } = "model.onnx";
    public IReadOnlyList<string> ConfiguredProviders { get; private set; } = [];

    /// <summary>genai_config.json has a <c>model.vision</c> section.</summary>
    public bool HasVision { get; private set; }

    /// <summary>The highest token id the tokenizer can produce.</summary>
    public int MaxTokenizerId { get; private set; } = -1;

    /// <summary>Inconsistencies that do not stop loading but that the user should hear about.</summary>
    public List<string> Warnings { get; } = [];

    public Dictionary<string, long> FileSizes { get; } = new(StringComparer.Ordinal);

    /// <exception cref="ModelFolderException">The folder is missing or malformed.</exception>
    public static ModelFolder Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = System.IO.Path.GetFullPath(path);
        if (!Directory.Exists(full))
            throw new ModelFolderException(full, $"Model folder '{full}' does not exist. Pass the folder that holds genai_config.json, model.onnx and the tokenizer files.");

        var folder = new ModelFolder(full);
        foreach (var file in new DirectoryInfo(full).EnumerateFiles())
            folder.FileSizes[file.Name] = file.Length;

        folder.ReadGenAiConfig();
        folder.ReadTokenizer();
        return folder;
    }

    private void ReadGenAiConfig()
    {
        string configPath = System.IO.Path.Combine(Path, "genai_config.json");
        if (!File.Exists(configPath))
            throw new ModelFolderException(Path, $"Model folder '{Path}' has no genai_config.json. Export the model with the ONNX Runtime GenAI model builder (python -m onnxruntime_genai.models.builder), or point at the folder that contains it.");

        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(configPath)); }
        catch (JsonException e) { throw new ModelFolderException(Path, $"'{configPath}' is not valid JSON: {e.Message}", e); }

        JsonNode model = root?["model"] ?? throw new ModelFolderException(Path, $"'{configPath}' has no \"model\" section.");
        JsonNode decoder = model["decoder"] ?? throw new ModelFolderException(Path, $"'{configPath}' has no \"model.decoder\" section.");

        ModelType = model["type"]?.GetValue<string>() ?? throw Missing("model.type");
        HasVision = model["vision"] is JsonObject;
        VocabSize = Int(model, "vocab_size");
        ContextLength = Int(model, "context_length");
        Layers = Int(decoder, "num_hidden_layers");
        Heads = Int(decoder, "num_attention_heads");
        KvHeads = decoder["num_key_value_heads"] is null ? Heads : Int(decoder, "num_key_value_heads");
        HeadSize = Int(decoder, "head_size");
        HiddenSize = decoder["hidden_size"] is null ? Heads * HeadSize : Int(decoder, "hidden_size");
        DecoderFile = decoder["filename"]?.GetValue<string>() ?? throw Missing("model.decoder.filename");
        PastPresentShareBuffer = root?["search"]?["past_present_share_buffer"]?.GetValue<bool>() ?? false;
        EosTokenIds = model["eos_token_id"] switch
        {
            JsonArray a => [.. a.Select(n => n!.GetValue<int>())],
            JsonValue v => [v.GetValue<int>()],
            _ => throw Missing("model.eos_token_id"),
        };
        ConfiguredProviders = decoder["session_options"]?["provider_options"] is JsonArray providers
            ? [.. providers.OfType<JsonObject>().SelectMany(o => o.Select(p => p.Key.ToLowerInvariant()))]
            : [];

        string onnx = System.IO.Path.Combine(Path, DecoderFile);
        if (!File.Exists(onnx))
            throw new ModelFolderException(Path, $"Model folder '{Path}' has no '{DecoderFile}' (named by genai_config.json model.decoder.filename). The folder is incomplete: download or export it again.");

        ModelFolderException Missing(string key) =>
            new(Path, $"'{configPath}' lacks \"{key}\". Re-export the model with the ONNX Runtime GenAI model builder.");

        int Int(JsonNode node, string key)
        {
            JsonNode value = node[key] ?? throw Missing(key);
            int result = value.GetValue<int>();
            if (result <= 0) throw new ModelFolderException(Path, $"'{configPath}' has {key} = {result}; it must be positive.");
            return result;
        }
    }

    private void ReadTokenizer()
    {
        string tokenizerJson = System.IO.Path.Combine(Path, "tokenizer.json");
        if (!File.Exists(tokenizerJson))
        {
            // Some folders use a SentencePiece model instead; the native tokenizer checks those itself.
            if (!File.Exists(System.IO.Path.Combine(Path, "tokenizer.model")))
                throw new ModelFolderException(Path, $"Model folder '{Path}' has no tokenizer.json (or tokenizer.model). Copy the tokenizer files from the model's original release into the folder.");
            return;
        }

        using var stream = File.OpenRead(tokenizerJson);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(stream); }
        catch (JsonException e) { throw new ModelFolderException(Path, $"'{tokenizerJson}' is not valid JSON: {e.Message}", e); }

        using (doc)
        {
            int max = -1;
            var byContent = new Dictionary<string, int>(StringComparer.Ordinal);
            if (doc.RootElement.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
            {
                foreach (var t in added.EnumerateArray())
                {
                    int id = t.GetProperty("id").GetInt32();
                    max = Math.Max(max, id);
                    if (t.TryGetProperty("content", out var c) && c.GetString() is { } s) byContent[s] = id;
                }
            }
            if (doc.RootElement.TryGetProperty("model", out var m) && m.TryGetProperty("vocab", out var vocab))
            {
                if (vocab.ValueKind == JsonValueKind.Object)
                {
                    foreach (var p in vocab.EnumerateObject()) max = Math.Max(max, p.Value.GetInt32());
                }
                else if (vocab.ValueKind == JsonValueKind.Array)
                {
                    max = Math.Max(max, vocab.GetArrayLength() - 1); // Unigram: ids are positions
                }
            }
            MaxTokenizerId = max;
            CheckSpecialTokens(byContent);
        }

        if (MaxTokenizerId >= VocabSize)
            throw new ModelFolderException(Path, $"The tokenizer in '{Path}' produces token ids up to {MaxTokenizerId}, but genai_config.json says vocab_size = {VocabSize}: the tokenizer does not belong to this model. Use the tokenizer files from the same export as model.onnx.");
    }

    /// <summary>Real folders can disagree with themselves (genai_config's eos vs the tokenizer's); say so.</summary>
    private void CheckSpecialTokens(Dictionary<string, int> addedTokens)
    {
        string configPath = System.IO.Path.Combine(Path, "tokenizer_config.json");
        if (!File.Exists(configPath)) return;
        try
        {
            var config = JsonNode.Parse(File.ReadAllText(configPath));
            string? eos = config?["eos_token"] switch
            {
                JsonValue v => v.GetValue<string>(),
                JsonObject o => o["content"]?.GetValue<string>(),
                _ => null,
            };
            if (eos is not null && addedTokens.TryGetValue(eos, out int eosId) && !EosTokenIds.Contains(eosId))
                Warnings.Add($"genai_config.json says eos_token_id = [{string.Join(", ", EosTokenIds)}] but the tokenizer's eos_token '{eos}' is id {eosId}; generation stops on genai_config's ids. Fix genai_config.json if output runs past the end of the answer.");
        }
        catch (JsonException)
        {
            Warnings.Add($"'{configPath}' is not valid JSON; the model's own chat template may not load.");
        }
    }
}
