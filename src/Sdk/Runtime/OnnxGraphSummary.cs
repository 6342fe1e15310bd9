namespace LocalLlm;

/// <summary>
/// The few facts the SDK needs from model.onnx (weight precision, attention kind, KV-cache element type),
/// read with a minimal protobuf wire reader that seeks past weight bytes instead of loading them: an
/// fp32 model with inline weights can be gigabytes, and only its graph structure matters here.
/// </summary>
internal sealed class OnnxGraphSummary
{
    // ONNX TensorProto.DataType values.
    private const int Float = 1, Float16 = 10, BFloat16 = 16;

    private readonly Dictionary<int, long> _elementsByType = [];

    public int? QuantBits { get; private set; }
    public bool HasGroupQueryAttention { get; private set; }
    public int? PastKeyElementType { get; private set; }

    public ModelPrecision Precision => QuantBits switch
    {
        4 => ModelPrecision.Int4,
        8 => ModelPrecision.Int8,
        _ => ToPrecision(_elementsByType.Count == 0 ? 0 : _elementsByType.MaxBy(p => p.Value).Key),
    };

    public ModelPrecision KvCachePrecision => PastKeyElementType is { } t ? ToPrecision(t)
        : Precision is ModelPrecision.Fp16 or ModelPrecision.Bf16 ? Precision : ModelPrecision.Fp32;

    public static OnnxGraphSummary Read(string onnxPath)
    {
        using var stream = new FileStream(onnxPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var summary = new OnnxGraphSummary();
        var reader = new WireReader(stream);
        // ModelProto: field 7 = graph.
        reader.ReadFields(stream.Length, (field, r, end) =>
        {
            if (field == 7) r.ReadMessage(end, summary.OnGraphField); else r.Skip();
        });
        return summary;
    }

    private void OnGraphField(int field, WireReader r, long end)
    {
        switch (field)
        {
            case 1: r.ReadMessage(end, OnNodeField()); break;        // node
            case 5: r.ReadMessage(end, OnInitializerField()); break; // initializer
            case 11: r.ReadMessage(end, OnInputField()); break;      // input (ValueInfoProto)
            default: r.Skip(); break;
        }
    }

    private WireReader.FieldHandler OnNodeField()
    {
        string? opType = null;
        return (field, r, end) =>
        {
            if (field == 4) // op_type
            {
                opType = r.ReadString();
                if (opType == "GroupQueryAttention") HasGroupQueryAttention = true;
            }
            else if (field == 5 && opType == "MatMulNBits") // attribute (op_type precedes attributes in writers we know)
            {
                string? name = null;
                long value = 0;
                r.ReadMessage(end, (f, rr, _) =>
                {
                    if (f == 1) name = rr.ReadString();
                    else if (f == 3) value = (long)rr.ReadVarint();
                    else rr.Skip();
                });
                if (name == "bits") QuantBits = (int)value;
            }
            else r.Skip();
        };
    }

    private WireReader.FieldHandler OnInitializerField()
    {
        long elements = 1;
        int dataType = 0;
        return (field, r, end) =>
        {
            if (field == 1) // dims: packed or not
            {
                if (r.LastWireType == 2) { long stop = r.ReadLengthEnd(); while (r.Position < stop) elements *= (long)r.ReadVarint(); }
                else elements *= (long)r.ReadVarint();
            }
            else if (field == 2)
            {
                dataType = (int)r.ReadVarint();
                _elementsByType[dataType] = _elementsByType.GetValueOrDefault(dataType) + elements;
            }
            else r.Skip();
        };
    }

    private WireReader.FieldHandler OnInputField()
    {
        string? name = null;
        return (field, r, end) =>
        {
            if (field == 1) name = r.ReadString();
            else if (field == 2 && name is not null && name.Contains("past_key", StringComparison.Ordinal) && PastKeyElementType is null)
            {
                // TypeProto.tensor_type (1) → Tensor.elem_type (1)
                r.ReadMessage(end, (f, rr, e) =>
                {
                    if (f == 1) rr.ReadMessage(e, (f2, r3, _) => { if (f2 == 1) PastKeyElementType = (int)r3.ReadVarint(); else r3.Skip(); });
                    else rr.Skip();
                });
            }
            else r.Skip();
        };
    }

    private static ModelPrecision ToPrecision(int dataType) => dataType switch
    {
        Float => ModelPrecision.Fp32,
        Float16 => ModelPrecision.Fp16,
        BFloat16 => ModelPrecision.Bf16,
        _ => ModelPrecision.Unknown,
    };

    /// <summary>Protobuf wire format: varints, length-delimited fields and skipping, over a seekable stream.</summary>
    internal sealed class WireReader(Stream stream)
    {
        public delegate void FieldHandler(int field, WireReader reader, long end);

        public int LastWireType { get; private set; }
        public long Position => stream.Position;

        /// <summary>Reads a length-delimited sub-message (its tag was just read).</summary>
        public void ReadMessage(long parentEnd, FieldHandler onField)
        {
            long stop = ReadLengthEnd();
            if (stop > parentEnd) throw new InvalidDataException("A protobuf field runs past its message in the ONNX file.");
            ReadFields(stop, onField);
        }

        /// <summary>Reads fields until <paramref name="stop"/>.</summary>
        public void ReadFields(long stop, FieldHandler onField)
        {
            while (stream.Position < stop)
            {
                ulong tag = ReadVarint();
                LastWireType = (int)(tag & 7);
                onField((int)(tag >> 3), this, stop);
            }
            stream.Position = stop;
        }

        public long ReadLengthEnd()
        {
            long length = (long)ReadVarint();
            return stream.Position + length;
        }

        public string ReadString()
        {
            int length = checked((int)ReadVarint());
            byte[] bytes = new byte[length];
            stream.ReadExactly(bytes);
            return System.Text.Encoding.UTF8.GetString(bytes);
        }

        public ulong ReadVarint()
        {
            ulong result = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                int b = stream.ReadByte();
                if (b < 0) throw new InvalidDataException("Unexpected end of the ONNX file.");
                result |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) return result;
            }
            throw new InvalidDataException("Malformed varint in the ONNX file.");
        }

        public void Skip()
        {
            switch (LastWireType)
            {
                case 0: ReadVarint(); break;
                case 1: stream.Seek(8, SeekOrigin.Current); break;
                case 2: stream.Position = ReadLengthEnd(); break;
                case 5: stream.Seek(4, SeekOrigin.Current); break;
                default: throw new InvalidDataException($"Unsupported protobuf wire type {LastWireType} in the ONNX file.");
            }
        }
    }
}
