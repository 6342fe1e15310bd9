using System.Buffers.Binary;

namespace LocalLlm.ModelForge.Onnx;

/// <summary>
/// A weight matrix W[K, N] (the right operand of x·W) that can be read by rows (for MatMul) or by columns (for
/// MatMulNBits, which stores W transposed), so large random matrices are produced piece by piece, never whole.
/// </summary>
internal abstract class MatrixSource(int rows, int cols)
{
    public int Rows { get; } = rows;

    public int Cols { get; } = cols;

    public abstract void FillRow(int k, Span<float> row);

    public abstract void FillColumn(int n, Span<float> column);
}

/// <summary>A small matrix held in memory (the designed weights).</summary>
internal sealed class DenseMatrix(int rows, int cols) : MatrixSource(rows, cols)
{
    public float[] Data { get; } = new float[rows * cols];

    public float this[int k, int n]
    {
        get => Data[(k * Cols) + n];
        set => Data[(k * Cols) + n] = value;
    }

    public override void FillRow(int k, Span<float> row) => Data.AsSpan(k * Cols, Cols).CopyTo(row);

    public override void FillColumn(int n, Span<float> column)
    {
        for (int k = 0; k < Rows; k++)
            column[k] = Data[(k * Cols) + n];
    }
}

/// <summary>
/// Seeded uniform random values in [-amplitude, amplitude), computed from (seed, tensor id, k, n) by a counter-based
/// hash: any element in any order, the same bytes on every machine and run.
/// </summary>
internal sealed class RandomMatrix(int rows, int cols, ulong seed, string tensorId, float amplitude) : MatrixSource(rows, cols)
{
    private readonly ulong _key = Mix(seed ^ StableHash(tensorId));

    public override void FillRow(int k, Span<float> row)
    {
        ulong baseIndex = (ulong)k * (ulong)Cols;
        for (int n = 0; n < row.Length; n++)
            row[n] = Value(baseIndex + (ulong)n);
    }

    public override void FillColumn(int n, Span<float> column)
    {
        for (int k = 0; k < column.Length; k++)
            column[k] = Value(((ulong)k * (ulong)Cols) + (ulong)n);
    }

    private float Value(ulong index)
    {
        ulong h = Mix(_key + (index * 0x9E3779B97F4A7C15UL));
        // 24 random bits -> [-1, 1).
        float unit = ((h >> 40) * (1f / (1 << 23))) - 1f;
        return unit * amplitude;
    }

    internal static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    internal static ulong StableHash(string text)
    {
        ulong h = 1469598103934665603UL; // FNV-1a
        foreach (char c in text)
        {
            h ^= c;
            h *= 1099511628211UL;
        }
        return h;
    }
}

/// <summary>Writes weights as fp32/fp16 rows or as MatMulNBits blocks (symmetric, zero point 8 or 128).</summary>
internal static class WeightCodec
{
    public const int BlockSize = 32;

    /// <summary>Writes W[K, N] row-major as fp32 or fp16.</summary>
    public static void WriteRows(Stream stream, MatrixSource w, bool half)
    {
        var row = new float[w.Cols];
        byte[] bytes = new byte[w.Cols * (half ? 2 : 4)];
        for (int k = 0; k < w.Rows; k++)
        {
            w.FillRow(k, row);
            EncodeFloats(row, bytes, half);
            stream.Write(bytes);
        }
    }

    public static void EncodeFloats(ReadOnlySpan<float> values, Span<byte> bytes, bool half)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (half)
                BinaryPrimitives.WriteHalfLittleEndian(bytes[(i * 2)..], (Half)values[i]);
            else
                BinaryPrimitives.WriteSingleLittleEndian(bytes[(i * 4)..], values[i]);
        }
    }

    public static int KBlocks(int k) => (k + BlockSize - 1) / BlockSize;

    public static int BlobBytes(int bits) => BlockSize * bits / 8;

    /// <summary>
    /// Streams the packed B tensor [N, kBlocks, blob] of MatMulNBits and returns the scales [N * kBlocks].
    /// Symmetric quantization: scale = max|w| / 7 (4-bit) or / 127 (8-bit), so the largest weight of each block
    /// is represented exactly.
    /// </summary>
    public static float[] WriteQuantized(Stream stream, MatrixSource w, int bits)
    {
        int k = w.Rows;
        int kBlocks = KBlocks(k);
        int blob = BlobBytes(bits);
        var scales = new float[(long)w.Cols * kBlocks];
        var column = new float[kBlocks * BlockSize];
        var packed = new byte[kBlocks * blob];
        var codes = new byte[BlockSize];
        for (int n = 0; n < w.Cols; n++)
        {
            Array.Clear(column);
            w.FillColumn(n, column.AsSpan(0, k));
            Array.Clear(packed);
            for (int b = 0; b < kBlocks; b++)
            {
                float scale = QuantizeBlock(column.AsSpan(b * BlockSize, BlockSize), bits, codes);
                scales[((long)n * kBlocks) + b] = scale;
                Span<byte> dst = packed.AsSpan(b * blob, blob);
                if (bits == 8)
                {
                    codes.CopyTo(dst);
                }
                else
                {
                    for (int i = 0; i < BlockSize; i += 2)
                        dst[i / 2] = (byte)(codes[i] | (codes[i + 1] << 4)); // low nibble = even index
                }
            }
            stream.Write(packed);
        }
        return scales;
    }

    /// <summary>Quantizes one block; returns its scale and writes unsigned codes (zero point 8 or 128).</summary>
    public static float QuantizeBlock(ReadOnlySpan<float> block, int bits, Span<byte> codes)
    {
        int maxCode = bits == 4 ? 7 : 127;
        int zero = bits == 4 ? 8 : 128;
        float maxAbs = 0;
        foreach (float v in block)
            maxAbs = Math.Max(maxAbs, Math.Abs(v));
        float scale = maxAbs / maxCode;
        float inverse = scale == 0 ? 0 : 1 / scale;
        for (int i = 0; i < block.Length; i++)
        {
            int q = (int)MathF.Round(block[i] * inverse, MidpointRounding.AwayFromZero);
            codes[i] = (byte)(Math.Clamp(q, -maxCode - 1, maxCode) + zero);
        }
        return scale;
    }

    /// <summary>The value a weight takes after quantization and dequantization (for checking designed margins).</summary>
    public static float RoundTrip(ReadOnlySpan<float> block, int index, int bits)
    {
        Span<byte> codes = stackalloc byte[block.Length];
        float scale = QuantizeBlock(block, bits, codes);
        return (codes[index] - (bits == 4 ? 8 : 128)) * scale;
    }
}
