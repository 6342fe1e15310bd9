using System.Buffers.Binary;
using System.Globalization;
using Google.Protobuf;
using Onnx;

namespace LocalLlm.ModelForge.Onnx;

/// <summary>ONNX element types the forge writes (values are TensorProto.DataType).</summary>
internal enum ElemType
{
    Float = 1,
    UInt8 = 2,
    Int32 = 6,
    Int64 = 7,
    Bool = 9,
    Float16 = 10,
}

/// <summary>
/// Builds one ONNX graph node by node. Initializers larger than <see cref="InlineLimit"/> bytes are streamed
/// straight into the external data file as they are produced, so a multi-gigabyte model never sits in memory.
/// </summary>
internal sealed class OnnxGraph : IDisposable
{
    /// <summary>Tensors up to this size stay inside model.onnx; bigger ones go to the external data file.</summary>
    public const int InlineLimit = 1024;

    private const int DataAlignment = 64;
    private readonly GraphProto _graph = new() { Name = "localllm_forge" };
    private readonly string _dataPath;
    private readonly string _dataFileName;
    private readonly HashSet<string> _initializers = new(StringComparer.Ordinal);
    private FileStream? _data;
    private int _counter;

    public OnnxGraph(string dataPath)
    {
        _dataPath = dataPath;
        _dataFileName = Path.GetFileName(dataPath);
    }

    /// <summary>Adds a graph input with symbolic (string) or fixed (int) dimensions.</summary>
    public void Input(string name, ElemType type, params object[] dims) => _graph.Input.Add(ValueInfo(name, type, dims));

    /// <summary>Adds a graph output with symbolic (string) or fixed (int) dimensions.</summary>
    public void Output(string name, ElemType type, params object[] dims) => _graph.Output.Add(ValueInfo(name, type, dims));

    /// <summary>Adds an initializer whose bytes <paramref name="write"/> produces (exactly <paramref name="byteLength"/> bytes).</summary>
    public string Initializer(string name, ElemType type, long[] dims, long byteLength, Action<Stream> write)
    {
        if (!_initializers.Add(name))
            throw new InvalidOperationException($"Initializer '{name}' was added twice.");
        var tensor = new TensorProto { Name = name, DataType = (int)type };
        tensor.Dims.AddRange(dims);
        if (byteLength <= InlineLimit)
        {
            using var buffer = new MemoryStream();
            write(buffer);
            CheckLength(name, byteLength, buffer.Length);
            tensor.RawData = ByteString.CopyFrom(buffer.ToArray());
        }
        else
        {
            _data ??= new FileStream(_dataPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            long padding = (DataAlignment - (_data.Position % DataAlignment)) % DataAlignment;
            for (long i = 0; i < padding; i++)
                _data.WriteByte(0);
            long offset = _data.Position;
            write(_data);
            CheckLength(name, byteLength, _data.Position - offset);
            tensor.DataLocation = TensorProto.Types.DataLocation.External;
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = _dataFileName });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = byteLength.ToString(CultureInfo.InvariantCulture) });
        }
        _graph.Initializer.Add(tensor);
        return name;
    }

    public string Floats(string name, ElemType type, long[] dims, ReadOnlySpan<float> values)
    {
        int size = type == ElemType.Float16 ? 2 : 4;
        byte[] bytes = new byte[values.Length * size];
        for (int i = 0; i < values.Length; i++)
        {
            if (type == ElemType.Float16)
                BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)values[i]);
            else
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }
        return Initializer(name, type, dims, bytes.Length, s => s.Write(bytes));
    }

    /// <summary>An int64 vector constant; the same name returns the existing constant.</summary>
    public string Int64s(string name, params long[] values)
    {
        if (_initializers.Contains(name))
            return name;
        byte[] bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), values[i]);
        return Initializer(name, ElemType.Int64, [values.Length], bytes.Length, s => s.Write(bytes));
    }

    /// <summary>A float scalar constant (rank 0) of the given element type.</summary>
    public string Scalar(string name, ElemType type, float value) =>
        _initializers.Contains(name) ? name : Floats(name, type, [], [value]);

    /// <summary>An int64 scalar constant (rank 0).</summary>
    public string Int64Scalar(string name, long value)
    {
        if (_initializers.Contains(name))
            return name;
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        return Initializer(name, ElemType.Int64, [], 8, s => s.Write(bytes));
    }

    /// <summary>Adds a node and returns its single output name.</summary>
    public string Node(string op, string[] inputs, params (string Name, object Value)[] attributes) =>
        NodeMulti(op, "", inputs, 1, attributes)[0];

    /// <summary>Adds a com.microsoft node and returns its output names.</summary>
    public string[] ContribNode(string op, string[] inputs, int outputs, params (string Name, object Value)[] attributes) =>
        NodeMulti(op, "com.microsoft", inputs, outputs, attributes);

    public string[] NodeMulti(string op, string domain, string[] inputs, int outputs, params (string Name, object Value)[] attributes)
    {
        var outs = new string[outputs];
        for (int i = 0; i < outputs; i++)
            outs[i] = $"{op}_{_counter}/out{i}";
        return NodeNamed(op, domain, inputs, outs, attributes);
    }

    /// <summary>Adds a node whose outputs have the given names (graph outputs such as logits or present.0.key).</summary>
    public string[] NodeNamed(string op, string domain, string[] inputs, string[] outs, params (string Name, object Value)[] attributes)
    {
        string name = $"{op}_{_counter++}";
        var node = new NodeProto { OpType = op, Name = name, Domain = domain };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outs);
        foreach (var (attrName, value) in attributes)
            node.Attribute.Add(Attribute(attrName, value));
        _graph.Node.Add(node);
        return outs;
    }

    /// <summary>Writes model.onnx and closes the external data file (deleted when no tensor needed it).</summary>
    public void Save(string modelPath)
    {
        _data?.Dispose();
        _data = null;
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "LocalLlm.ModelForge",
            ProducerVersion = "1",
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        using var file = new FileStream(modelPath, FileMode.Create, FileAccess.Write);
        model.WriteTo(file);
    }

    public bool HasExternalData => _graph.Initializer.Any(t => t.ExternalData.Count > 0);

    public void Dispose() => _data?.Dispose();

    private static void CheckLength(string name, long expected, long actual)
    {
        if (expected != actual)
            throw new InvalidOperationException($"Initializer '{name}' wrote {actual} bytes, expected {expected}.");
    }

    private static ValueInfoProto ValueInfo(string name, ElemType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object d in dims)
        {
            shape.Dim.Add(d switch
            {
                string p => new TensorShapeProto.Types.Dimension { DimParam = p },
                int v => new TensorShapeProto.Types.Dimension { DimValue = v },
                _ => throw new ArgumentException($"Dimension {d} must be a string or an int.", nameof(dims)),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    private static AttributeProto Attribute(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case int i:
                a.Type = AttributeProto.Types.AttributeType.Int;
                a.I = i;
                break;
            case long l:
                a.Type = AttributeProto.Types.AttributeType.Int;
                a.I = l;
                break;
            case float f:
                a.Type = AttributeProto.Types.AttributeType.Float;
                a.F = f;
                break;
            case long[] ints:
                a.Type = AttributeProto.Types.AttributeType.Ints;
                a.Ints.AddRange(ints);
                break;
            case TensorProto t:
                a.Type = AttributeProto.Types.AttributeType.Tensor;
                a.T = t;
                break;
            default:
                throw new ArgumentException($"Attribute {name} has an unsupported type {value.GetType()}.", nameof(value));
        }
        return a;
    }
}
