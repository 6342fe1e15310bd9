using System.Buffers.Binary;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace LocalLlm;

/// <summary>An image of a request, checked and decoded before native code (<see cref="RequestValidation.Image"/>): its
/// pixels written again as a PNG (what the processor reads), its size, and the format it came in.</summary>
internal sealed record PromptImage(byte[] Png, string Format, int Width, int Height);

/// <summary>
/// Images in a multimodal prompt: where they go in the text (the model type's placeholder, in content order) and how
/// many prompt tokens each becomes (the model's image processor's count), so the prompt is sized, admitted and checked
/// against the context before ONNX Runtime GenAI's <c>MultiModalProcessor</c> runs. Only <c>phi3v</c> folders
/// (Phi-3-vision, Phi-3.5-vision) are supported: other vision types are refused by <see cref="RequestValidation.Prompt"/>.
/// </summary>
internal static partial class PromptImages
{
    /// <summary>The model types whose image placeholder and token count LocalLlm knows.</summary>
    public static readonly IReadOnlyList<string> SupportedModelTypes = ["phi3v"];

    /// <summary>phi3v's transform: crops of 336 × 336, at most 16 per image (fixed in ONNX Runtime GenAI 0.20).</summary>
    private const int Crop = 336;
    private const int MaxCrops = 16;

    /// <summary>phi3v's placeholder for image <paramref name="number"/> (1-based, in prompt order).</summary>
    public static string Placeholder(int number) => $"<|image_{number}|>";

    /// <summary>Text that would be read as an image placeholder (the processor splits the prompt on it).</summary>
    [GeneratedRegex(@"<\|image_\d+\|>")]
    public static partial Regex PlaceholderPattern();

    /// <summary>
    /// The messages with every image replaced by its numbered placeholder, and the images in that order (those of
    /// messages that truncation dropped are not in either).
    /// </summary>
    public static (List<ChatMessage> Messages, List<PromptImage> Images) Number(IReadOnlyList<ChatMessage> messages, IReadOnlyDictionary<AIContent, PromptImage> checkedImages)
    {
        var images = new List<PromptImage>();
        var result = new List<ChatMessage>(messages.Count);
        foreach (var message in messages)
        {
            if (!message.Contents.Any(checkedImages.ContainsKey))
            {
                result.Add(message);
                continue;
            }
            var copy = message.Clone();
            copy.Contents = [.. message.Contents.Select(c =>
            {
                if (!checkedImages.TryGetValue(c, out var image)) return c;
                images.Add(image);
                return new TextContent(Placeholder(images.Count));
            })];
            result.Add(copy);
        }
        return (result, images);
    }

    /// <summary>
    /// The prompt's token ids as the processor builds them: the text between placeholders tokenized piece by piece,
    /// each placeholder replaced by its image's token count of <c>-number</c> (the ids the embedding graph swaps for
    /// image features). Text ids are checked against the vocabulary.
    /// </summary>
    public static int[] Tokens(LocalModel model, string text, IReadOnlyList<PromptImage> images)
    {
        var tokens = new List<int>();
        int position = 0;
        foreach (Match m in PlaceholderPattern().Matches(text))
        {
            Append(text[position..m.Index]);
            int number = int.Parse(m.ValueSpan[8..^2], System.Globalization.CultureInfo.InvariantCulture);
            var image = images[number - 1];
            for (int i = ImageTokens(image.Width, image.Height); i > 0; i--) tokens.Add(-number);
            position = m.Index + m.Length;
        }
        Append(text[position..]);
        return [.. tokens];

        void Append(string piece)
        {
            if (piece.Length == 0) return;
            int[] ids = model.Encode(piece);
            model.ValidateTokens(ids);
            tokens.AddRange(ids);
        }
    }

    /// <summary>
    /// Prompt tokens phi3v's processor gives a <paramref name="width"/> × <paramref name="height"/> image: the HD transform
    /// scales it to the largest grid of rows × columns crops that keeps its aspect ratio within 16 crops (the short side
    /// padded up to whole crops), then (rows · columns + 1) · 144 + 1 + (rows + 1) · 12.
    /// </summary>
    public static int ImageTokens(int width, int height)
    {
        double ratio = width >= height ? (double)width / height : (double)height / width;
        int scale = 1;
        while (scale * Math.Ceiling(scale / ratio) <= MaxCrops) scale++;
        scale--;
        int across = (int)(((long)((long)scale * Crop / ratio) + Crop - 1) / Crop);
        (int rows, int columns) = width >= height ? (across, scale) : (scale, across);
        return ((rows * columns) + 1) * 144 + 1 + ((rows + 1) * 12);
    }

    /// <summary>"PNG" or "JPEG" from the file signature, or null.</summary>
    public static string? Format(ReadOnlySpan<byte> bytes) =>
        bytes.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]) ? "PNG"
        : bytes.Length >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF ? "JPEG"
        : null;

    /// <summary>A JPEG ends with its end-of-image marker (FF D9), allowing a little trailing padding: a cut file does not.</summary>
    public static bool HasJpegEnd(ReadOnlySpan<byte> bytes)
    {
        var tail = bytes[Math.Max(0, bytes.Length - 64)..];
        int end = tail.LastIndexOf((ReadOnlySpan<byte>)[0xFF, 0xD9]);
        return end >= 0 && tail[(end + 2)..].IndexOfAnyExcept((byte)0) < 0;
    }

    /// <summary>The size from the header (StbImageSharp), without decoding; null when the header does not parse.</summary>
    public static (int Width, int Height)? Size(byte[] bytes)
    {
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            return StbImageSharp.ImageInfo.FromStream(stream) is { Width: > 0, Height: > 0 } info ? (info.Width, info.Height) : null;
        }
        catch (Exception e) when (e is InvalidOperationException or IndexOutOfRangeException or ArgumentException or EndOfStreamException or IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Decodes the image in managed code (StbImageSharp) and writes it again as a plain PNG, so the native decoder only
    /// ever reads files LocalLlm wrote: ONNX Runtime Extensions' libjpeg ends the whole process on a JPEG cut in its
    /// header ("Improper call to JPEG library in state 201") and loops forever on one cut right after its scan header.
    /// </summary>
    /// <returns>The PNG, or null when the bytes do not decode (the message says why).</returns>
    public static byte[]? Normalize(byte[] bytes, out string? error)
    {
        StbImageSharp.ImageResult image;
        try
        {
            image = StbImageSharp.ImageResult.FromMemory(bytes, StbImageSharp.ColorComponents.RedGreenBlue);
        }
        catch (Exception e) when (e is InvalidOperationException or IndexOutOfRangeException or ArgumentException or EndOfStreamException or IOException or OverflowException)
        {
            error = e.Message;
            return null;
        }
        error = null;
        return Png(image.Width, image.Height, image.Data);
    }

    /// <summary>An 8-bit RGB PNG: IHDR, one zlib IDAT of unfiltered rows, IEND.</summary>
    internal static byte[] Png(int width, int height, byte[] rgb)
    {
        using var output = new MemoryStream();
        output.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type RGB
        Chunk(output, "IHDR"u8, header);
        using (var data = new MemoryStream())
        {
            using (var zlib = new System.IO.Compression.ZLibStream(data, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            {
                int stride = width * 3;
                for (int y = 0; y < height; y++)
                {
                    zlib.WriteByte(0); // filter: none
                    zlib.Write(rgb, y * stride, stride);
                }
            }
            Chunk(output, "IDAT"u8, data.ToArray());
        }
        Chunk(output, "IEND"u8, []);
        return output.ToArray();
    }

    private static void Chunk(Stream output, ReadOnlySpan<byte> type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        output.Write(type);
        output.Write(data);
        uint crc = Crc32(Crc32(0xFFFFFFFFu, type), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        output.Write(word);
    }

    private static readonly uint[] s_crcTable = [.. Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    })];

    private static uint Crc32(uint crc, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes) crc = s_crcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }
}

/// <summary>
/// The processor's output for one request (token ids with image placeholders, pixel values, image sizes) and the native
/// images it was made from, handed to the request's generator once (<see cref="Prefill.SetInputs"/>) and disposed
/// with the request.
/// </summary>
internal sealed class ImageInputs(Microsoft.ML.OnnxRuntimeGenAI.NamedTensors tensors, Microsoft.ML.OnnxRuntimeGenAI.Images images, int count) : IDisposable
{
    private int _disposed;

    public Microsoft.ML.OnnxRuntimeGenAI.NamedTensors Tensors { get; } = tensors;

    /// <summary>Images in the prompt.</summary>
    public int Count { get; } = count;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Tensors.Dispose();
        images.Dispose();
    }
}
