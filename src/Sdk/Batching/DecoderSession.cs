using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace LocalLlm;

/// <summary>
/// The model folder's own decoder (genai_config's <c>model.decoder.filename</c>) in ONNX Runtime's
/// <see cref="InferenceSession"/>, with a KV cache the batching engine owns: per layer one key and one value buffer
/// shaped [slots, KV heads, slot length, head size], slot-major, so one slot's region is contiguous and the first
/// <c>n</c> slots are a valid [n, ...] tensor. Past and present are bound to the same memory (GroupQueryAttention's
/// shared buffer, as ORT GenAI binds them), and each row's own length comes from its attention-mask row sum (GQA
/// derives seqlens_k and rotary positions from it), so rows of different lengths run in one step.
/// The engine thread calls it, except that <see cref="Prefill"/> calls on different slots may run at once (each binds
/// only its own slot's region; ONNX Runtime's Run is thread-safe).
/// </summary>
internal sealed unsafe class DecoderSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _options;
    private readonly nint[] _keys, _values;
    private readonly string[] _pastKeys, _pastValues, _presentKeys, _presentValues;
    private readonly string _inputIds, _mask, _logits;
    private readonly TensorElementType _kvType;
    private readonly int _elementBytes;
    private readonly int _kvHeads, _headSize;
    private readonly long _slotElements;
    private int _disposed;

    /// <summary>Slots (rows) the KV buffers hold.</summary>
    public int Slots { get; }

    /// <summary>Positions one slot holds.</summary>
    public int SlotLength { get; }

    /// <summary>Bytes of all KV buffers (allocated zeroed; pages become resident as positions are written).</summary>
    public long KvBytes => 2L * _keys.Length * Slots * _slotElements * _elementBytes;

    /// <summary>
    /// The folder's genai_config <c>search</c> values for top-k, top-p and the repetition penalty: what a request that
    /// leaves them unset gets, as ORT GenAI fills them for a generator (README, "How ChatOptions map").
    /// </summary>
    public static (int? TopK, double? TopP, double? RepetitionPenalty) SearchDefaults(ModelInfo info)
    {
        var search = JsonNode.Parse(File.ReadAllText(Path.Combine(info.Folder, "genai_config.json")))?["search"];
        double? Get(string key) => search?[key]?.GetValue<double>();
        return ((int?)Get("top_k"), Get("top_p"), Get("repetition_penalty"));
    }

    /// <summary>Vocabulary size of the logits.</summary>
    public int Vocab { get; private set; }

    private DecoderSession(ModelInfo info, int slots, int slotLength)
    {
        Slots = slots;
        SlotLength = slotLength;
        var config = Config(info);
        _inputIds = Name(config, "inputs", "input_ids", "input_ids");
        _mask = Name(config, "inputs", "attention_mask", "attention_mask");
        _logits = Name(config, "outputs", "logits", "logits");
        string pastKey = Name(config, "inputs", "past_key_names", "past_key_values.%d.key");
        string pastValue = Name(config, "inputs", "past_value_names", "past_key_values.%d.value");
        string presentKey = Name(config, "outputs", "present_key_names", "present.%d.key");
        string presentValue = Name(config, "outputs", "present_value_names", "present.%d.value");
        int layers = info.Layers;
        _pastKeys = Names(pastKey, layers);
        _pastValues = Names(pastValue, layers);
        _presentKeys = Names(presentKey, layers);
        _presentValues = Names(presentValue, layers);
        _kvHeads = info.KvHeads;
        _headSize = info.HeadSize;
        _slotElements = (long)_kvHeads * slotLength * _headSize;

        _options = CreateOptions(config);
        try
        {
            string file = config["filename"]?.GetValue<string>() ?? "model.onnx";
            _session = OpenSession(Path.Combine(info.Folder, file));
            _kvType = CheckGraph();
            _elementBytes = _kvType == TensorElementType.Float ? 4 : 2;
        }
        catch
        {
            _session?.Dispose();
            _options.Dispose();
            throw;
        }
        _keys = new nint[layers];
        _values = new nint[layers];
        nuint bytes = (nuint)(Slots * _slotElements * _elementBytes);
        for (int l = 0; l < layers; l++)
        {
            // Zeroed (so unwritten positions are finite), and lazily resident: calloc maps fresh pages for large sizes.
            _keys[l] = (nint)NativeMemory.AllocZeroed(bytes);
            _values[l] = (nint)NativeMemory.AllocZeroed(bytes);
        }
    }

    /// <summary>The session runs the LM head on each call's last position only (<see cref="LastPositionLogits"/>).</summary>
    public bool LastPositionOnly { get; private set; }

    /// <summary>Model files up to this size are read to rewrite the LM head; larger ones (weights inside the file) load as they are.</summary>
    private const long RewriteLimitBytes = 1L << 30;

    /// <summary>The folder's decoder with its LM head on the last position when the graph allows it, else as it is.</summary>
    private InferenceSession OpenSession(string path)
    {
        if (new FileInfo(path).Length <= RewriteLimitBytes && LastPositionLogits.Rewrite(File.ReadAllBytes(path), _logits) is { } rewritten)
        {
            // A model read from memory finds its external data through this folder, as it would next to its file.
            _options.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", Path.GetDirectoryName(Path.GetFullPath(path))!);
            try
            {
                var session = new InferenceSession(rewritten, _options);
                LastPositionOnly = true;
                return session;
            }
            catch (OnnxRuntimeException)
            {
                // The rewrite is an optimisation: a graph ONNX Runtime refuses after it loads as the folder has it.
            }
        }
        return new InferenceSession(path, _options);
    }

    /// <summary>Opens the decoder for <paramref name="slots"/> rows of <paramref name="slotLength"/> positions.</summary>
    /// <exception cref="NotSupportedException">The graph is not the GQA decoder contract the engine drives; the message says what differs.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime could not load the model.</exception>
    public static DecoderSession Open(ModelInfo info, int slots, int slotLength) => new(info, slots, slotLength);

    private static JsonObject Config(ModelInfo info)
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(info.Folder, "genai_config.json")));
        return root?["model"]?["decoder"] as JsonObject ?? throw new NotSupportedException("genai_config.json has no model.decoder section.");
    }

    private static string Name(JsonObject decoder, string section, string key, string fallback) =>
        decoder[section]?[key]?.GetValue<string>() ?? fallback;

    private static string[] Names(string pattern, int layers) =>
        [.. Enumerable.Range(0, layers).Select(i => pattern.Replace("%d", i.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))];

    /// <summary>The session options genai_config names (threads, arena, config entries), as ORT GenAI applies them; otherwise one intra-op thread per core and ORT's defaults.</summary>
    private static SessionOptions CreateOptions(JsonObject decoder)
    {
        var options = new SessionOptions();
        // ORT's own default (0) ran a prefill chunk on about one core of two here; naming every core made one call 1.4× faster.
        options.IntraOpNumThreads = Environment.ProcessorCount;
        try
        {
            if (decoder["session_options"] is not JsonObject s) return options;
            if (s["provider_options"] is JsonArray { Count: > 0 } providers
                && providers.Any(p => p is JsonObject o && o.Any(kv => !kv.Key.Equals("cpu", StringComparison.OrdinalIgnoreCase))))
                throw new NotSupportedException("genai_config.json names an execution provider other than the CPU; the engine runs on the CPU only.");
            if (s["intra_op_num_threads"]?.GetValue<int>() is { } intra) options.IntraOpNumThreads = intra;
            if (s["inter_op_num_threads"]?.GetValue<int>() is { } inter) options.InterOpNumThreads = inter;
            if (s["enable_cpu_mem_arena"]?.GetValue<bool>() is { } arena) options.EnableCpuMemArena = arena;
            if (s["enable_mem_pattern"]?.GetValue<bool>() is { } pattern) options.EnableMemoryPattern = pattern;
            if (s["config_entries"] is JsonObject entries)
                foreach (var (key, value) in entries) options.AddSessionConfigEntry(key, value?.ToString() ?? "");
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    /// <summary>Checks the session's inputs and outputs are exactly the GQA decoder contract; returns the KV element type.</summary>
    private TensorElementType CheckGraph()
    {
        var expectedInputs = new HashSet<string>([_inputIds, _mask, .. _pastKeys, .. _pastValues], StringComparer.Ordinal);
        var extra = _session.InputMetadata.Keys.Where(k => !expectedInputs.Contains(k)).ToList();
        if (extra.Count > 0)
            throw new NotSupportedException($"the decoder takes inputs the engine does not feed ({string.Join(", ", extra)}), for example position_ids or LoRA weights");
        var missing = expectedInputs.Where(k => !_session.InputMetadata.ContainsKey(k)).ToList();
        if (missing.Count > 0) throw new NotSupportedException($"the decoder lacks inputs {string.Join(", ", missing)}");
        foreach (string name in (string[])[_logits, .. _presentKeys, .. _presentValues])
            if (!_session.OutputMetadata.ContainsKey(name)) throw new NotSupportedException($"the decoder has no output {name}");
        var kv = _session.InputMetadata[_pastKeys[0]].ElementDataType;
        if (kv is not (TensorElementType.Float or TensorElementType.Float16))
            throw new NotSupportedException($"the KV cache is {kv}; the engine handles float and float16");
        var logits = _session.OutputMetadata[_logits].ElementDataType;
        if (logits is not (TensorElementType.Float or TensorElementType.Float16))
            throw new NotSupportedException($"the logits are {logits}; the engine handles float and float16");
        return kv;
    }

    /// <summary>
    /// One decode step over slots [0, <paramref name="tokens"/>.Length): row i feeds tokens[i] at position lengths[i]
    /// (the positions its slot already holds) and attends to positions 0..lengths[i]. Writes each row's next-token
    /// logits to <paramref name="logits"/> (rows × vocab).
    /// </summary>
    public void Decode(ReadOnlySpan<int> tokens, ReadOnlySpan<int> lengths, RunOptions runOptions, ref float[] logits)
    {
        int rows = tokens.Length;
        int total = 0;
        foreach (int l in lengths) total = Math.Max(total, l + 1);
        long[] ids = new long[rows];
        long[] mask = new long[rows * total];
        for (int r = 0; r < rows; r++)
        {
            ids[r] = tokens[r];
            mask.AsSpan(r * total, lengths[r] + 1).Fill(1);
        }
        Run(0, rows, ids, 1, mask, total, runOptions, ref logits);
    }

    /// <summary>
    /// Appends <paramref name="tokens"/> to slot <paramref name="slot"/>, which holds <paramref name="past"/> positions
    /// (a batch-1 call on that slot's region). Writes the logits of the last position to <paramref name="logits"/>.
    /// </summary>
    public void Prefill(int slot, ReadOnlySpan<int> tokens, int past, RunOptions runOptions, ref float[] logits)
    {
        long[] ids = new long[tokens.Length];
        for (int i = 0; i < ids.Length; i++) ids[i] = tokens[i];
        long[] mask = new long[past + tokens.Length];
        mask.AsSpan().Fill(1);
        Run(slot, 1, ids, tokens.Length, mask, mask.Length, runOptions, ref logits);
    }

    /// <summary>Copies the first <paramref name="length"/> positions of slot <paramref name="from"/> into slot <paramref name="to"/> (every layer, key and value).</summary>
    public void CopyPrefix(int from, int to, int length)
    {
        if (from == to || length <= 0) return;
        long rowBytes = (long)length * _headSize * _elementBytes;
        long headStride = (long)SlotLength * _headSize * _elementBytes;
        long slotStride = _slotElements * _elementBytes;
        foreach (nint[] buffers in (nint[][])[_keys, _values])
            foreach (nint b in buffers)
                for (int h = 0; h < _kvHeads; h++)
                    Buffer.MemoryCopy((void*)(b + (nint)(from * slotStride + h * headStride)), (void*)(b + (nint)(to * slotStride + h * headStride)), rowBytes, rowBytes);
    }

    private OrtValue Kv(nint buffer, int firstSlot, int rows) =>
        OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, _kvType, [rows, _kvHeads, SlotLength, _headSize],
            buffer + (nint)(firstSlot * _slotElements * _elementBytes), rows * _slotElements * _elementBytes);

    private void Run(int firstSlot, int rows, long[] ids, int sequence, long[] mask, int total, RunOptions runOptions, ref float[] logits)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (total > SlotLength) throw new InvalidOperationException($"A batch row needs {total} positions; a slot holds {SlotLength}.");
        var owned = new List<OrtValue>(4 + 4 * _keys.Length);
        try
        {
            using var binding = _session.CreateIoBinding();
            var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [rows, sequence]);
            owned.Add(idsValue);
            var maskValue = OrtValue.CreateTensorValueFromMemory(mask, [rows, total]);
            owned.Add(maskValue);
            binding.BindInput(_inputIds, idsValue);
            binding.BindInput(_mask, maskValue);
            for (int l = 0; l < _keys.Length; l++)
            {
                var k = Kv(_keys[l], firstSlot, rows);
                owned.Add(k);
                var v = Kv(_values[l], firstSlot, rows);
                owned.Add(v);
                binding.BindInput(_pastKeys[l], k);
                binding.BindInput(_pastValues[l], v);
                binding.BindOutput(_presentKeys[l], k); // the same memory: GQA's shared past/present buffer
                binding.BindOutput(_presentValues[l], v);
            }
            binding.BindOutputToDevice(_logits, OrtMemoryInfo.DefaultInstance);
            _session.RunWithBinding(runOptions, binding);
            using var outputs = binding.GetOutputValues();
            int index = Array.IndexOf(binding.GetOutputNames(), _logits);
            ReadLastPositions(outputs[index], rows, ref logits);
        }
        finally
        {
            foreach (var v in owned) v.Dispose();
        }
    }

    /// <summary>The logits of each row's last position, as float.</summary>
    private void ReadLastPositions(OrtValue value, int rows, ref float[] logits)
    {
        var shape = value.GetTensorTypeAndShape();
        int vocab = (int)shape.Shape[^1];
        int sequence = (int)shape.Shape[1]; // 1 when the LM head runs on the last position only
        Vocab = vocab;
        if (logits.Length < rows * vocab) logits = new float[rows * vocab];
        if (shape.ElementDataType == TensorElementType.Float)
        {
            var data = value.GetTensorDataAsSpan<float>();
            for (int r = 0; r < rows; r++) data.Slice(((r * sequence) + sequence - 1) * vocab, vocab).CopyTo(logits.AsSpan(r * vocab, vocab));
        }
        else
        {
            var data = value.GetTensorDataAsSpan<Float16>();
            for (int r = 0; r < rows; r++)
            {
                var row = data.Slice(((r * sequence) + sequence - 1) * vocab, vocab);
                var target = logits.AsSpan(r * vocab, vocab);
                for (int i = 0; i < vocab; i++) target[i] = (float)row[i];
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _session.Dispose();
        _options.Dispose();
        foreach (nint p in _keys) NativeMemory.Free((void*)p);
        foreach (nint p in _values) NativeMemory.Free((void*)p);
    }
}
