using System.Buffers.Binary;
using System.Text;

namespace LocalLlm;

/// <summary>
/// Rewrites a decoder graph so its LM head runs on the last position only: a <c>Slice</c> of the hidden states
/// (axis 1, the last position) goes in front of the MatMul that makes the logits. Exporters compute the logits of
/// every prompt position, and a prefill needs only the last one's: on the Qwen2.5-0.5B shape the LM head of a 32-token
/// chunk is about a quarter of the chunk's work and its logits are 19 MB. A decode step (one position a row) is
/// unchanged. The batching engine loads the rewritten graph; ONNX Runtime GenAI's generators keep the folder's file.
/// </summary>
/// <remarks>
/// The rewrite edits the ONNX protobuf on the wire (ModelProto → GraphProto → NodeProto), keeping every other byte. It
/// applies only when the logits output is rank 3 and comes from a MatMul or MatMulNBits through per-position
/// elementwise ops (bias Add, Cast, soft-capping): then the MatMul's input is [batch, sequence, hidden] and slicing it
/// is exact. Any other shape leaves the graph alone (null).
/// </remarks>
internal static class LastPositionLogits
{
    // ModelProto.graph; GraphProto.node, .initializer, .output; NodeProto.input, .output, .op_type; ValueInfoProto.name, .type.
    private const int ModelGraph = 7, GraphNode = 1, GraphInitializer = 5, GraphOutput = 12;
    private const int NodeInput = 1, NodeOutput = 2, NodeOpType = 4;

    private static readonly HashSet<string> Elementwise = ["Add", "Sub", "Mul", "Div", "Cast", "Tanh", "Identity"];

    /// <summary>The rewritten model, or null when the graph is not one this rewrite knows to be exact.</summary>
    /// <param name="model">The model.onnx bytes (weights may be in external data; their references are kept).</param>
    /// <param name="logitsName">The graph output holding the logits.</param>
    public static byte[]? Rewrite(byte[] model, string logitsName)
    {
        try
        {
            var top = Fields(model);
            int graphIndex = top.FindLastIndex(f => f.Number == ModelGraph && f.WireType == 2);
            if (graphIndex < 0) return null;
            byte[]? rewritten = RewriteGraph(top[graphIndex].Payload, logitsName);
            if (rewritten is null) return null;
            var output = new MemoryStream(model.Length + 256);
            for (int i = 0; i < top.Count; i++)
            {
                if (i == graphIndex) WriteBytes(output, ModelGraph, rewritten);
                else output.Write(model, top[i].Start, top[i].End - top[i].Start);
            }
            return output.ToArray();
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static byte[]? RewriteGraph(ReadOnlyMemory<byte> graph, string logitsName)
    {
        var fields = Fields(graph);
        if (!fields.Any(f => f.Number == GraphOutput && IsRank3Output(f.Payload, logitsName))) return null;
        var nodes = fields.Where(f => f.Number == GraphNode).Select(f => (Field: f, Node: Node.Parse(f.Payload))).ToList();
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < nodes.Count; i++)
            foreach (string o in nodes[i].Node.Outputs) producer[o] = i;
        var initializers = fields.Where(f => f.Number == GraphInitializer).Select(f => StringField(f.Payload, 8)).ToHashSet(StringComparer.Ordinal);

        // Walk back from the logits through elementwise ops to the projection.
        string current = logitsName;
        int head = -1;
        for (int hops = 0; hops < 8 && producer.TryGetValue(current, out int index); hops++)
        {
            var node = nodes[index].Node;
            if (node.OpType is "MatMul" or "MatMulNBits") { head = index; break; }
            if (!Elementwise.Contains(node.OpType)) return null;
            // Follow the one input another (non-constant) node computes; a bias or scale is an initializer or a Constant.
            var computed = node.Inputs.Where(n => n.Length > 0 && !initializers.Contains(n) && producer.TryGetValue(n, out int p) && nodes[p].Node.OpType != "Constant").ToList();
            if (computed.Count != 1) return null;
            current = computed[0];
        }
        if (head < 0) return null;

        var projection = nodes[head];
        string hidden = projection.Node.Inputs[0];
        string sliced = hidden + "/localllm_last_position";
        string starts = sliced + "/starts", ends = sliced + "/ends", axes = sliced + "/axes";
        var output = new MemoryStream(graph.Length + 512);
        foreach (var f in fields)
        {
            if (f.Start == projection.Field.Start)
            {
                WriteBytes(output, GraphNode, SliceNode(hidden, starts, ends, axes, sliced));
                WriteBytes(output, GraphNode, projection.Node.WithInput(0, sliced));
            }
            else output.Write(graph.Span[f.Start..f.End]);
        }
        WriteBytes(output, GraphInitializer, Int64Tensor(starts, -1));
        WriteBytes(output, GraphInitializer, Int64Tensor(ends, long.MaxValue));
        WriteBytes(output, GraphInitializer, Int64Tensor(axes, 1));
        return output.ToArray();
    }

    /// <summary>ValueInfoProto named <paramref name="name"/> whose tensor shape has three dimensions.</summary>
    private static bool IsRank3Output(ReadOnlyMemory<byte> valueInfo, string name)
    {
        if (StringField(valueInfo, 1) != name) return false;
        // ValueInfoProto.type (2) → TypeProto.tensor_type (1) → .shape (2) → TensorShapeProto.dim (1, repeated).
        ReadOnlyMemory<byte>? Child(ReadOnlyMemory<byte>? message, int number) =>
            message is { } m && Fields(m).FirstOrDefault(f => f.Number == number && f.WireType == 2) is { Number: > 0 } f ? f.Payload : null;
        return Child(Child(Child(valueInfo, 2), 1), 2) is { } shape && Fields(shape).Count(f => f.Number == 1) == 3;
    }

    private static byte[] SliceNode(string data, string starts, string ends, string axes, string output)
    {
        var s = new MemoryStream();
        foreach (string input in (string[])[data, starts, ends, axes]) WriteString(s, NodeInput, input);
        WriteString(s, NodeOutput, output);
        WriteString(s, 3, output); // name
        WriteString(s, NodeOpType, "Slice");
        return s.ToArray();
    }

    /// <summary>TensorProto: dims [1], data_type INT64 (7), name, raw_data (little-endian).</summary>
    private static byte[] Int64Tensor(string name, long value)
    {
        var s = new MemoryStream();
        WriteTag(s, 1, 0);
        WriteVarint(s, 1);
        WriteTag(s, 2, 0);
        WriteVarint(s, 7);
        WriteString(s, 8, name);
        byte[] raw = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(raw, value);
        WriteBytes(s, 9, raw);
        return s.ToArray();
    }

    private static string StringField(ReadOnlyMemory<byte> message, int number) =>
        Fields(message).FirstOrDefault(f => f.Number == number && f.WireType == 2) is { Number: > 0 } f ? Encoding.UTF8.GetString(f.Payload.Span) : "";

    /// <summary>A NodeProto's inputs, outputs and op type, and its bytes to re-emit with one input renamed.</summary>
    private sealed record Node(ReadOnlyMemory<byte> Raw, List<Field> Parts, List<string> Inputs, List<string> Outputs, string OpType)
    {
        public static Node Parse(ReadOnlyMemory<byte> raw)
        {
            var fields = LastPositionLogits.Fields(raw);
            string Text(Field f) => Encoding.UTF8.GetString(f.Payload.Span);
            return new Node(raw, fields,
                [.. fields.Where(f => f.Number == NodeInput).Select(Text)],
                [.. fields.Where(f => f.Number == NodeOutput).Select(Text)],
                StringField(raw, NodeOpType));
        }

        public byte[] WithInput(int position, string name)
        {
            var s = new MemoryStream(Raw.Length + name.Length);
            int seen = 0;
            foreach (var f in Parts)
            {
                if (f.Number == NodeInput && seen++ == position) WriteString(s, NodeInput, name);
                else s.Write(Raw.Span[f.Start..f.End]);
            }
            return s.ToArray();
        }
    }

    /// <summary>One wire field: its number, wire type, where it starts and ends in its message, and its payload when length-delimited (a slice, not a copy).</summary>
    private readonly record struct Field(int Number, int WireType, int Start, int End, ReadOnlyMemory<byte> Payload);

    private static List<Field> Fields(ReadOnlyMemory<byte> message)
    {
        var fields = new List<Field>();
        var data = message.Span;
        int pos = 0;
        while (pos < data.Length)
        {
            int start = pos;
            ulong tag = ReadVarint(data, ref pos);
            int number = (int)(tag >> 3), wire = (int)(tag & 7);
            var payload = ReadOnlyMemory<byte>.Empty;
            switch (wire)
            {
                case 0: ReadVarint(data, ref pos); break;
                case 1: pos += 8; break;
                case 5: pos += 4; break;
                case 2:
                    ulong length = ReadVarint(data, ref pos);
                    if (length > (ulong)(data.Length - pos)) throw new FormatException("A field runs past the end of the message.");
                    payload = message.Slice(pos, (int)length);
                    pos += (int)length;
                    break;
                default: throw new FormatException($"Wire type {wire} is not one ONNX uses.");
            }
            if (pos > data.Length || number == 0) throw new FormatException("The message is cut short.");
            fields.Add(new Field(number, wire, start, pos, payload));
        }
        return fields;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int pos)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (pos >= data.Length) throw new FormatException("A varint runs past the end of the message.");
            byte b = data[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new FormatException("A varint is longer than 10 bytes.");
    }

    private static void WriteVarint(Stream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        s.WriteByte((byte)value);
    }

    private static void WriteTag(Stream s, int number, int wire) => WriteVarint(s, ((ulong)number << 3) | (uint)wire);

    private static void WriteBytes(Stream s, int number, byte[] bytes)
    {
        WriteTag(s, number, 2);
        WriteVarint(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    private static void WriteString(Stream s, int number, string text) => WriteBytes(s, number, Encoding.UTF8.GetBytes(text));
}
