using System.Diagnostics.CodeAnalysis;

namespace LocalLlm.Memory;

/// <summary>How numbers are stored: the weights of a model, its KV cache, or training state.</summary>
public enum NumberFormat
{
    /// <summary>32-bit float, 4 bytes.</summary>
    Fp32,

    /// <summary>16-bit float, 2 bytes.</summary>
    Fp16,

    /// <summary>bfloat16, 2 bytes.</summary>
    Bf16,

    /// <summary>8-bit integer with one scale per block (block-wise quantization).</summary>
    [SuppressMessage("Naming", "CA1720", Justification = "INT8 is the industry name of the format.")]
    Int8,

    /// <summary>4-bit integer with one scale per block (block-wise quantization).</summary>
    Int4,
}

/// <summary>Sizes of the <see cref="NumberFormat"/> values.</summary>
public static class NumberFormats
{
    /// <summary>Bytes per element, without quantization scales (0.5 for <see cref="NumberFormat.Int4"/>).</summary>
    /// <param name="format">The format.</param>
    /// <returns>Bytes per element.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="format"/> is not a defined value.</exception>
    public static double BytesPerElement(this NumberFormat format) => format switch
    {
        NumberFormat.Fp32 => 4,
        NumberFormat.Fp16 or NumberFormat.Bf16 => 2,
        NumberFormat.Int8 => 1,
        NumberFormat.Int4 => 0.5,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown number format."),
    };

    /// <summary>Whether the format is block-quantized (needs scales).</summary>
    /// <param name="format">The format.</param>
    /// <returns><see langword="true"/> for <see cref="NumberFormat.Int8"/> and <see cref="NumberFormat.Int4"/>.</returns>
    public static bool IsQuantized(this NumberFormat format) => format is NumberFormat.Int8 or NumberFormat.Int4;

    /// <summary>
    /// The format activations and the KV cache use when weights are stored in <paramref name="weights"/>:
    /// quantized weights are dequantized into fp32 arithmetic on the CPU, float formats compute in themselves.
    /// </summary>
    /// <param name="weights">The weight format.</param>
    /// <returns>The compute format.</returns>
    public static NumberFormat ComputeFormat(this NumberFormat weights) =>
        weights.IsQuantized() ? NumberFormat.Fp32 : weights;
}
