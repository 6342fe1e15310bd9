namespace LocalLlm.ModelForge.Onnx;

/// <summary>The graph-level shape and options of a decoder.</summary>
/// <param name="Realistic">Adds RMS norms, residual connections and a SiLU-gated MLP (the random design). Designed
/// models leave them out so that their output is exactly what the attention and the head compute.</param>
/// <param name="InputsEmbeds">The decoder takes <c>inputs_embeds</c> instead of <c>input_ids</c> and holds no
/// embedding table (the vision design: a separate embedding graph computes them).</param>
/// <param name="LoraRank">0, or the rank of a LoRA branch on every query projection: q = x·W + (x·A)·B, where A
/// (<c>…q_proj.lora_A</c>, [hidden, rank]) and B (<c>…q_proj.lora_B</c>, [rank, heads·head]) are graph inputs whose
/// initializers (zeros) are the defaults, so the base model computes x·W and an <c>.onnx_adapter</c> overrides them.</param>
internal sealed record DecoderSpec(
    int Vocab,
    int Hidden,
    int Layers,
    int Heads,
    int KvHeads,
    int HeadSize,
    int Intermediate,
    int Context,
    float RopeTheta,
    bool Realistic,
    WeightPrecision Precision,
    AttentionKind Attention,
    int AccuracyLevel,
    int LoraRank = 0,
    bool InputsEmbeds = false)
{
    /// <summary>The sequence input: <c>inputs_embeds</c> [batch, seq, hidden] for the text decoder of a multimodal
    /// folder (its embedding graph merges image features), else <c>input_ids</c> [batch, seq].</summary>
    public string SequenceInput => InputsEmbeds ? "inputs_embeds" : "input_ids";

    public ElemType IoType => Precision == WeightPrecision.Fp16 ? ElemType.Float16 : ElemType.Float;
}

/// <summary>Supplies every weight of a decoder; matrices are W[in, out] for x·W.</summary>
internal interface IDecoderWeights
{
    MatrixSource Embedding { get; }

    MatrixSource Query(int layer);

    MatrixSource Key(int layer);

    MatrixSource Value(int layer);

    MatrixSource Output(int layer);

    MatrixSource Gate(int layer);

    MatrixSource Up(int layer);

    MatrixSource Down(int layer);

    MatrixSource LmHead { get; }

    float[]? LmBias { get; }
}

/// <summary>
/// Writes a Llama-style decoder with the ONNX Runtime GenAI I/O contract: input_ids, attention_mask,
/// (position_ids), past_key_values.N.key/value in; logits, present.N.key/value out.
/// </summary>
internal static class DecoderGraph
{
    public static void Write(DecoderSpec spec, IDecoderWeights weights, string modelPath)
    {
        using var g = new OnnxGraph(modelPath + ".data");
        new Builder(g, spec, weights).Build();
        g.Save(modelPath);
    }

    private sealed class Builder(OnnxGraph g, DecoderSpec spec, IDecoderWeights weights)
    {
        private readonly ElemType _t = spec.IoType;
        private readonly bool _half = spec.Precision == WeightPrecision.Fp16;
        private readonly bool _gqa = spec.Attention == AttentionKind.GroupQueryAttention;
        private int Group => spec.Heads / spec.KvHeads;

        public void Build()
        {
            Io();
            string x = spec.InputsEmbeds ? spec.SequenceInput : g.Node("Gather", [Embedding(), "input_ids"]);
            var (cosTable, sinTable) = RotaryTables();
            Context ctx = _gqa ? GqaContext() : PlainContext(cosTable, sinTable);
            if (spec.Realistic)
            {
                // Pre-norm residual stream: r is the running sum, x the normalized input of the next block.
                string r = x;
                x = Norm(r, "model.layers.0.input_layernorm.weight");
                for (int layer = 0; layer < spec.Layers; layer++)
                {
                    string prefix = $"model.layers.{layer}";
                    string o = Attention(x, layer, ctx, cosTable, sinTable);
                    (r, x) = AddAndNorm(o, r, $"{prefix}.post_attention_layernorm.weight");
                    string d = Mlp(x, layer);
                    (r, x) = AddAndNorm(d, r, layer + 1 < spec.Layers ? $"model.layers.{layer + 1}.input_layernorm.weight" : "model.norm.weight");
                }
            }
            else
            {
                for (int layer = 0; layer < spec.Layers; layer++)
                    x = Attention(x, layer, ctx, cosTable, sinTable);
            }
            string logits = Linear(x, weights.LmHead, "lm_head");
            string[] inputs = weights.LmBias is { } bias
                ? [logits, g.Floats("lm_head.bias", _t, [spec.Vocab], bias)]
                : [logits, g.Scalar("lm_head.zero", _t, 0f)];
            g.NodeNamed("Add", "", inputs, ["logits"]);
        }

        private void Io()
        {
            if (spec.InputsEmbeds)
                g.Input(spec.SequenceInput, _t, "batch_size", "sequence_length", spec.Hidden);
            else
                g.Input("input_ids", ElemType.Int64, "batch_size", "sequence_length");
            g.Input("attention_mask", ElemType.Int64, "batch_size", "total_sequence_length");
            if (!_gqa)
                g.Input("position_ids", ElemType.Int64, "batch_size", "sequence_length");
            for (int i = 0; i < spec.Layers; i++)
            {
                g.Input($"past_key_values.{i}.key", _t, "batch_size", spec.KvHeads, "past_sequence_length", spec.HeadSize);
                g.Input($"past_key_values.{i}.value", _t, "batch_size", spec.KvHeads, "past_sequence_length", spec.HeadSize);
            }
            g.Output("logits", _t, "batch_size", "sequence_length", spec.Vocab);
            for (int i = 0; i < spec.Layers; i++)
            {
                g.Output($"present.{i}.key", _t, "batch_size", spec.KvHeads, "total_sequence_length", spec.HeadSize);
                g.Output($"present.{i}.value", _t, "batch_size", spec.KvHeads, "total_sequence_length", spec.HeadSize);
            }
        }

        private string Embedding()
        {
            MatrixSource e = weights.Embedding;
            long bytes = (long)e.Rows * e.Cols * (_half ? 2 : 4);
            return g.Initializer("model.embed_tokens.weight", _t, [e.Rows, e.Cols], bytes, s => WeightCodec.WriteRows(s, e, _half));
        }

        /// <summary>cos/sin tables [context, head/2] for the half-split (non-interleaved) rotary layout.</summary>
        private (string Cos, string Sin) RotaryTables()
        {
            int half = spec.HeadSize / 2;
            var cos = new float[spec.Context * half];
            var sin = new float[spec.Context * half];
            for (int p = 0; p < spec.Context; p++)
            {
                for (int i = 0; i < half; i++)
                {
                    double angle = p * Rotary.Frequency(i, spec.HeadSize, spec.RopeTheta);
                    cos[(p * half) + i] = (float)Math.Cos(angle);
                    sin[(p * half) + i] = (float)Math.Sin(angle);
                }
            }
            return (g.Floats("rotary.cos_cache", _t, [spec.Context, half], cos),
                    g.Floats("rotary.sin_cache", _t, [spec.Context, half], sin));
        }

        private sealed record Context(string? SeqLensK, string? TotalLength, string? CosQ, string? SinQ, string? CosK, string? SinK, string? Mask);

        private Context GqaContext()
        {
            string sum = g.Node("ReduceSum", ["attention_mask", g.Int64s("axes_1", 1)], ("keepdims", 0));
            string seqLens = g.Node("Cast", [g.Node("Sub", [sum, g.Int64Scalar("one", 1)])], ("to", (int)ElemType.Int32));
            string total = g.Node("Gather", [g.Node("Shape", ["attention_mask"]), g.Int64Scalar("index_1", 1)], ("axis", 0));
            string totalLength = g.Node("Cast", [total], ("to", (int)ElemType.Int32));
            return new Context(seqLens, totalLength, null, null, null, null, null);
        }

        private Context PlainContext(string cosTable, string sinTable)
        {
            // cos/sin for each (batch, position): [B, S, D] after duplicating the half-size tables.
            string cos = g.Node("Gather", [cosTable, "position_ids"]);
            string sin = g.Node("Gather", [sinTable, "position_ids"]);
            cos = g.Node("Concat", [cos, cos], ("axis", -1));
            sin = g.Node("Concat", [sin, sin], ("axis", -1));
            string cosQ = g.Node("Unsqueeze", [cos, g.Int64s("axes_1_2", 1, 2)]); // [B,1,1,S,D]
            string sinQ = g.Node("Unsqueeze", [sin, "axes_1_2"]);
            string cosK = g.Node("Unsqueeze", [cos, g.Int64s("axes_1", 1)]);     // [B,1,S,D]
            string sinK = g.Node("Unsqueeze", [sin, "axes_1"]);

            // Additive mask [B,1,1,S,T]: a key is hidden when it is padding or after the query (causal).
            string total = g.Node("Gather", [g.Node("Shape", ["attention_mask"]), g.Int64Scalar("index_1", 1)], ("axis", 0));
            string seq = g.Node("Gather", [g.Node("Shape", [spec.SequenceInput]), "index_1"], ("axis", 0));
            string zero = g.Int64Scalar("zero", 0);
            string one = g.Int64Scalar("one", 1);
            string keyIndex = g.Node("Range", [zero, total, one]);                                    // [T]
            string queryIndex = g.Node("Range", [g.Node("Sub", [total, seq]), total, one]);          // [S]
            string future = g.Node("Greater", [keyIndex, g.Node("Unsqueeze", [queryIndex, g.Int64s("axes_m1", -1)])]); // [S,T]
            string padding = g.Node("Equal", ["attention_mask", zero]);                                // [B,T]
            padding = g.Node("Unsqueeze", [padding, g.Int64s("axes_1_2_3", 1, 2, 3)]);                // [B,1,1,1,T]
            string hidden = g.Node("Or", [future, padding]);                                           // [B,1,1,S,T]
            string mask = g.Node("Where", [hidden, g.Scalar("mask_min", _t, -10000f), g.Scalar("mask_zero", _t, 0f)]);
            return new Context(null, null, cosQ, sinQ, cosK, sinK, mask);
        }

        private string Attention(string h, int layer, Context ctx, string cosTable, string sinTable)
        {
            string prefix = $"model.layers.{layer}";
            string q = Linear(h, weights.Query(layer), $"{prefix}.attn.q_proj");
            if (spec.LoraRank > 0) q = g.Node("Add", [q, Lora(h, $"{prefix}.attn.q_proj", spec.Hidden, spec.Heads * spec.HeadSize)]);
            string k = Linear(h, weights.Key(layer), $"{prefix}.attn.k_proj");
            string v = Linear(h, weights.Value(layer), $"{prefix}.attn.v_proj");
            string attention = _gqa
                ? GroupQueryAttention(q, k, v, layer, ctx, cosTable, sinTable)
                : PlainAttention(q, k, v, layer, ctx);
            return Linear(attention, weights.Output(layer), $"{prefix}.attn.o_proj");
        }

        /// <summary>(x·A)·B with A and B graph inputs that default to zeros (ONNX Runtime's overridable initializers).</summary>
        private string Lora(string x, string name, int inputs, int outputs)
        {
            string a = LoraParameter(LoraNames.A(name), inputs, spec.LoraRank);
            string b = LoraParameter(LoraNames.B(name), spec.LoraRank, outputs);
            return g.Node("MatMul", [g.Node("MatMul", [x, a]), b]);
        }

        private string LoraParameter(string name, int rows, int cols)
        {
            g.Input(name, _t, rows, cols);
            return g.Floats(name, _t, [rows, cols], new float[rows * cols]);
        }

        private string Mlp(string h, int layer)
        {
            string prefix = $"model.layers.{layer}.mlp";
            string gate = Linear(h, weights.Gate(layer), $"{prefix}.gate_proj");
            string up = Linear(h, weights.Up(layer), $"{prefix}.up_proj");
            string act = g.Node("Mul", [g.Node("Mul", [gate, g.Node("Sigmoid", [gate])]), up]);
            return Linear(act, weights.Down(layer), $"{prefix}.down_proj");
        }

        private string GroupQueryAttention(string q, string k, string v, int layer, Context ctx, string cosTable, string sinTable)
        {
            string[] outs = g.NodeNamed("GroupQueryAttention", "com.microsoft",
                [q, k, v, $"past_key_values.{layer}.key", $"past_key_values.{layer}.value", ctx.SeqLensK!, ctx.TotalLength!, cosTable, sinTable],
                [$"layer{layer}.attn", $"present.{layer}.key", $"present.{layer}.value"],
                ("num_heads", spec.Heads), ("kv_num_heads", spec.KvHeads), ("do_rotary", 1), ("rotary_interleaved", 0),
                ("scale", Scale), ("local_window_size", -1));
            return outs[0];
        }

        private float Scale => 1f / MathF.Sqrt(spec.HeadSize);

        private string PlainAttention(string q, string k, string v, int layer, Context ctx)
        {
            int d = spec.HeadSize, kvHeads = spec.KvHeads;
            // Queries as [B, kvHeads, group, S, D] so one key/value head serves its group by broadcasting.
            string q5 = g.Node("Reshape", [q, g.Int64s($"shape_q", 0, 0, kvHeads, Group, d)]);
            q5 = g.Node("Transpose", [q5], ("perm", new long[] { 0, 2, 3, 1, 4 }));
            string k4 = g.Node("Transpose", [g.Node("Reshape", [k, g.Int64s("shape_kv", 0, 0, kvHeads, d)])], ("perm", new long[] { 0, 2, 1, 3 }));
            string v4 = g.Node("Transpose", [g.Node("Reshape", [v, "shape_kv"])], ("perm", new long[] { 0, 2, 1, 3 }));
            q5 = Rope(q5, ctx.CosQ!, ctx.SinQ!);
            k4 = Rope(k4, ctx.CosK!, ctx.SinK!);
            string presentK = g.NodeNamed("Concat", "", [$"past_key_values.{layer}.key", k4], [$"present.{layer}.key"], ("axis", 2))[0];
            string presentV = g.NodeNamed("Concat", "", [$"past_key_values.{layer}.value", v4], [$"present.{layer}.value"], ("axis", 2))[0];
            string keys = g.Node("Transpose", [g.Node("Unsqueeze", [presentK, g.Int64s("axes_2", 2)])], ("perm", new long[] { 0, 1, 2, 4, 3 }));
            string values = g.Node("Unsqueeze", [presentV, "axes_2"]);
            string scores = g.Node("Mul", [g.Node("MatMul", [q5, keys]), g.Scalar("attn_scale", _t, Scale)]); // [B,G,R,S,T]
            scores = g.Node("Add", [scores, ctx.Mask!]);
            string probs = g.Node("Softmax", [scores], ("axis", -1));
            string attended = g.Node("MatMul", [probs, values]);                                         // [B,G,R,S,D]
            attended = g.Node("Transpose", [attended], ("perm", new long[] { 0, 3, 1, 2, 4 }));            // [B,S,G,R,D]
            return g.Node("Reshape", [attended, g.Int64s("shape_attn", 0, 0, spec.Heads * d)]);
        }

        /// <summary>Rotary embedding, half-split layout: x·cos + rotate_half(x)·sin.</summary>
        private string Rope(string x, string cos, string sin)
        {
            int half = spec.HeadSize / 2;
            string[] parts = g.NodeMulti("Split", "", [x, g.Int64s("split_half", half, half)], 2, ("axis", -1));
            string rotated = g.Node("Concat", [g.Node("Neg", [parts[1]]), parts[0]], ("axis", -1));
            return g.Node("Add", [g.Node("Mul", [x, cos]), g.Node("Mul", [rotated, sin])]);
        }

        /// <summary>RMS norm: plain ops for the plain variant, the fused SimplifiedLayerNormalization (as ORT GenAI's
        /// model builder emits) for the GQA variant.</summary>
        private string Norm(string x, string weightName)
        {
            string w = NormWeight(weightName);
            if (_gqa)
                return g.Node("SimplifiedLayerNormalization", [x, w], ("axis", -1), ("epsilon", NormEpsilon), ("stash_type", 1));
            string square = g.Node("Mul", [x, x]);
            string mean = g.Node("ReduceMean", [square], ("axes", new long[] { -1 }), ("keepdims", 1));
            string rms = g.Node("Sqrt", [g.Node("Add", [mean, g.Scalar("rms_eps", _t, NormEpsilon)])]);
            return g.Node("Mul", [g.Node("Div", [x, rms]), w]);
        }

        /// <summary>Residual add then RMS norm; fused SkipSimplifiedLayerNormalization for the GQA variant.</summary>
        private (string Sum, string Normed) AddAndNorm(string x, string residual, string weightName)
        {
            if (!_gqa)
            {
                string sum = g.Node("Add", [residual, x]);
                return (sum, Norm(sum, weightName));
            }
            string[] outs = g.NodeMulti("SkipSimplifiedLayerNormalization", "com.microsoft", [x, residual, NormWeight(weightName)], 4, ("epsilon", NormEpsilon));
            return (outs[3], outs[0]);
        }

        private const float NormEpsilon = 1e-6f;

        private string NormWeight(string name)
        {
            float[] ones = new float[spec.Hidden];
            Array.Fill(ones, 1f);
            return g.Floats(name, _t, [spec.Hidden], ones);
        }

        private string Linear(string x, MatrixSource w, string name)
        {
            switch (spec.Precision)
            {
                case WeightPrecision.Fp32:
                case WeightPrecision.Fp16:
                    long bytes = (long)w.Rows * w.Cols * (_half ? 2 : 4);
                    string weight = g.Initializer($"{name}.weight", _t, [w.Rows, w.Cols], bytes, s => WeightCodec.WriteRows(s, w, _half));
                    return g.Node("MatMul", [x, weight]);
                default:
                    int bits = spec.Precision == WeightPrecision.Int4 ? 4 : 8;
                    int kBlocks = WeightCodec.KBlocks(w.Rows);
                    int blob = WeightCodec.BlobBytes(bits);
                    float[] scales = [];
                    string packed = g.Initializer($"{name}.weight_Q{bits}", ElemType.UInt8, [w.Cols, kBlocks, blob],
                        (long)w.Cols * kBlocks * blob, s => scales = WeightCodec.WriteQuantized(s, w, bits));
                    string scaleName = g.Floats($"{name}.weight_scales", ElemType.Float, [scales.Length], scales);
                    return g.ContribNode("MatMulNBits", [x, packed, scaleName], 1,
                        ("K", w.Rows), ("N", w.Cols), ("bits", bits), ("block_size", WeightCodec.BlockSize),
                        ("accuracy_level", spec.AccuracyLevel))[0];
            }
        }
    }
}

/// <summary>Rotary frequencies shared by the graph and the designs.</summary>
internal static class Rotary
{
    /// <summary>θ_i = base^(-2i/d) for pair i (dimensions i and i + d/2).</summary>
    public static double Frequency(int pair, int headSize, float theta) => Math.Pow(theta, -2.0 * pair / headSize);
}
