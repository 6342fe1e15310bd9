namespace LocalLlm;

/// <summary>The numeric precision of a model's weights, as read from its ONNX graph.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "Int8/Int4 are the precision names users know.")]
public enum ModelPrecision
{
    /// <summary>Not determined (the graph could not be read).</summary>
    Unknown = 0,

    /// <summary>32-bit floating point.</summary>
    Fp32,

    /// <summary>16-bit floating point.</summary>
    Fp16,

    /// <summary>bfloat16.</summary>
    Bf16,

    /// <summary>8-bit block-quantized weights (MatMulNBits, bits = 8).</summary>
    Int8,

    /// <summary>4-bit block-quantized weights (MatMulNBits, bits = 4).</summary>
    Int4,
}
