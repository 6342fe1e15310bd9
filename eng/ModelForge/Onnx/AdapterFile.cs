using Google.FlatBuffers;

namespace LocalLlm.ModelForge.Onnx;

/// <summary>The graph-input names of a LoRA pair on a projection named <c>name</c>.</summary>
internal static class LoraNames
{
    public static string A(string projection) => projection + ".lora_A";

    public static string B(string projection) => projection + ".lora_B";
}

/// <summary>One tensor of an adapter: a graph input's name, shape, element type and little-endian bytes.</summary>
internal sealed record AdapterParameter(string Name, long[] Dims, ElemType Type, byte[] Data);

/// <summary>
/// Writes ONNX Runtime's LoRA adapter file (<c>.onnx_adapter</c>): a FlatBuffer with file identifier "TORT" whose root
/// table Adapter holds format_version (1), adapter_version, model_version and a vector of Parameter tables
/// (name, dims, data_type as the ONNX element type, raw_data aligned to 8 bytes), per onnxruntime's
/// lora/adapter_format/adapter_schema.fbs.
/// </summary>
internal static class AdapterFile
{
    public const int FormatVersion = 1;

    private const string FileIdentifier = "TORT";

    public static byte[] Build(IReadOnlyList<AdapterParameter> parameters, int adapterVersion = 0, int modelVersion = 0)
    {
        var builder = new FlatBufferBuilder(1024);
        var tables = new int[parameters.Count];
        for (int p = 0; p < parameters.Count; p++)
        {
            var parameter = parameters[p];
            StringOffset name = builder.CreateString(parameter.Name);
            builder.StartVector(sizeof(long), parameter.Dims.Length, sizeof(long));
            for (int i = parameter.Dims.Length - 1; i >= 0; i--) builder.AddLong(parameter.Dims[i]);
            VectorOffset dims = builder.EndVector();
            builder.StartVector(1, parameter.Data.Length, 8); // raw_data: (force_align: 8)
            for (int i = parameter.Data.Length - 1; i >= 0; i--) builder.AddByte(parameter.Data[i]);
            VectorOffset data = builder.EndVector();

            builder.StartTable(4);
            builder.AddOffset(0, name.Value, 0);
            builder.AddOffset(1, dims.Value, 0);
            builder.AddInt(2, (int)parameter.Type, 0);
            builder.AddOffset(3, data.Value, 0);
            tables[p] = builder.EndTable();
        }
        builder.StartVector(sizeof(int), tables.Length, sizeof(int));
        for (int i = tables.Length - 1; i >= 0; i--) builder.AddOffset(tables[i]);
        VectorOffset list = builder.EndVector();

        builder.StartTable(4);
        builder.AddInt(0, FormatVersion, 0);
        builder.AddInt(1, adapterVersion, 0);
        builder.AddInt(2, modelVersion, 0);
        builder.AddOffset(3, list.Value, 0);
        builder.Finish(builder.EndTable(), FileIdentifier);
        return builder.SizedByteArray();
    }
}
