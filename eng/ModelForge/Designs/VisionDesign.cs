using LocalLlm.ModelForge.Onnx;
using LocalLlm.ModelForge.Tokenization;

namespace LocalLlm.ModelForge;

/// <summary>
/// What the vision design answers: an ONNX Runtime GenAI <c>phi3v</c> folder whose reply names the brightness of the
/// image. The vision graph turns the processor's global view of the image into image features; the last
/// <see cref="WordLength"/> of them embed the letters of <see cref="DarkWord"/> or <see cref="BrightWord"/>, and the text
/// decoder is the copy design at lag <see cref="Lag"/>, so a prompt whose last user content is an image gets that word.
/// </summary>
/// <remarks>
/// The processor (ONNX Runtime Extensions' <c>Phi3ImageTransform</c>, up to <see cref="MaxCrops"/> crops of 336 × 336) resizes
/// the image to a grid of crops (white padding), normalizes it with the CLIP mean and deviation and adds a 336 × 336
/// global view; the prompt's <c>&lt;|image_1|&gt;</c> becomes <see cref="ImageTokens"/> placeholder ids. The vision graph
/// undoes the normalization of the last image's global view and averages it: above <see cref="Threshold"/> the word is
/// <see cref="BrightWord"/>, else <see cref="DarkWord"/>; the word fills the last five features, which belong to the
/// last image. Every other image feature embeds a space. In ChatML, 13 tokens follow the user's content, so with lag 13 + 5 the reply is the
/// last 5 tokens of the last user message: the word, when the message ends with the image, then the copied
/// <c>&lt;|im_end|&gt;</c> ends the answer.
/// </remarks>
public static class VisionDesign
{
    /// <summary>The reply when the image's mean brightness is at most <see cref="Threshold"/>.</summary>
    public const string DarkWord = "black";

    /// <summary>The reply when the image's mean brightness is above <see cref="Threshold"/>.</summary>
    public const string BrightWord = "white";

    /// <summary>Letters of each word (both have five).</summary>
    public const int WordLength = 5;

    /// <summary>Mean brightness (0 black, 1 white, over R, G and B) above which the answer is <see cref="BrightWord"/>.</summary>
    public const double Threshold = 0.5;

    /// <summary>The copy lag of the text decoder: the 13 ChatML tokens after the user's content + <see cref="WordLength"/>.</summary>
    public const int Lag = 13 + WordLength;

    /// <summary>Most 336-pixel crops per image. ONNX Runtime GenAI 0.20's <c>Phi3ImageTransform</c> fixes it at 16 (a
    /// <c>num_crops</c> attribute in processor_config.json is not read), so a square image takes 4 × 4 crops.</summary>
    public const int MaxCrops = 16;

    /// <summary>The crop side of phi3v's image transform, in pixels.</summary>
    public const int CropSize = 336;

    /// <summary>Default context_length of the vision design (room for one square image: 2,509 tokens).</summary>
    public const int DefaultContextLength = 4096;

    /// <summary>The token whose embedding fills the image features before the word.</summary>
    public const int FillerToken = ' ';

    /// <summary>The word for an image of mean brightness <paramref name="meanBrightness"/> (0..1).</summary>
    public static string Answer(double meanBrightness) => meanBrightness > Threshold ? BrightWord : DarkWord;

    /// <summary>The mean brightness of pixels given as RGB bytes (what the answer depends on, for an image with no padding).</summary>
    /// <exception cref="ArgumentException">The length is not a multiple of 3 or is 0.</exception>
    public static double MeanBrightness(ReadOnlySpan<byte> rgb)
    {
        if (rgb.IsEmpty || rgb.Length % 3 != 0)
            throw new ArgumentException("Pass R, G, B bytes per pixel.", nameof(rgb));
        long sum = 0;
        foreach (byte b in rgb) sum += b;
        return sum / (255.0 * rgb.Length);
    }

    /// <summary>
    /// The grid of 336-pixel crops phi3v's transform resizes a <paramref name="width"/> × <paramref name="height"/> image
    /// to, at most <see cref="MaxCrops"/> crops (the Phi-3-vision HD transform: the largest scale s with
    /// s · ⌈s / ratio⌉ ≤ crops).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A side is not positive.</exception>
    public static (int Rows, int Columns) CropGrid(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        double ratio = width >= height ? (double)width / height : (double)height / width;
        int scale = 1;
        while (scale * Math.Ceiling(scale / ratio) <= MaxCrops) scale++;
        scale--;
        long longSide = (long)scale * CropSize;
        long shortSide = (long)(longSide / ratio);
        int shortCrops = (int)((shortSide + CropSize - 1) / CropSize); // padded up to a multiple of 336
        return width >= height ? (shortCrops, scale) : (scale, shortCrops);
    }

    /// <summary>Placeholder tokens one image takes in the prompt: (rows · columns + 1) · 144 + 1 + (rows + 1) · 12.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A side is not positive.</exception>
    public static int ImageTokens(int width, int height)
    {
        var (rows, columns) = CropGrid(width, height);
        return ((rows * columns) + 1) * 144 + 1 + ((rows + 1) * 12);
    }
}

/// <summary>Writes the vision design's folder: text decoder, embedding and vision graphs, processor and genai config.</summary>
internal static class VisionModel
{
    public static readonly IReadOnlyList<string> ExtraFiles = ["embedding.onnx", "vision.onnx", "processor_config.json"];

    private static readonly float[] s_clipMean = [0.48145466f, 0.4578275f, 0.40821073f];
    private static readonly float[] s_clipStd = [0.26862954f, 0.26130258f, 0.27577711f];

    public static void Write(ForgeOptions options, string folder)
    {
        var (copySpec, weights) = DesignedModel.Create(options with { Design = ModelDesign.Copy, Lag = VisionDesign.Lag, ContextLength = options.EffectiveContextLength });
        var spec = copySpec with { InputsEmbeds = true };
        DecoderGraph.Write(spec, weights, Path.Combine(folder, "model.onnx"));
        WriteEmbedding(Path.Combine(folder, "embedding.onnx"));
        WriteVision(Path.Combine(folder, "vision.onnx"));
        WriteProcessorConfig(Path.Combine(folder, "processor_config.json"));
        GenAiConfig.Write(Path.Combine(folder, "genai_config.json"), spec);
        TokenizerFiles.Write(folder, spec.Vocab, spec.Context);
    }

    /// <summary>
    /// input_ids [1, S] (negative at image positions) + image_features [N, hidden] → inputs_embeds [1, S, hidden]:
    /// the token's embedding, or at the k-th negative position the k-th image feature.
    /// </summary>
    private static void WriteEmbedding(string path)
    {
        using var g = new OnnxGraph(path + ".data");
        int hidden = DesignedModel.Hidden;
        g.Input("input_ids", ElemType.Int64, "batch_size", "sequence_length");
        g.Input("image_features", ElemType.Float, "num_image_tokens", hidden);
        g.Output("inputs_embeds", ElemType.Float, "batch_size", "sequence_length", hidden);

        var table = new float[DesignedModel.VocabSize * hidden];
        for (int t = 0; t < DesignedModel.VocabSize; t++) DesignedModel.EmbeddingRow(t).CopyTo(table.AsSpan(t * hidden, hidden));
        string embed = g.Floats("model.embed_tokens.weight", ElemType.Float, [DesignedModel.VocabSize, hidden], table);

        string zero = g.Int64Scalar("zero", 0);
        string isImage = g.Node("Less", ["input_ids", zero]);
        string text = g.Node("Gather", [embed, g.Node("Max", ["input_ids", zero])]);
        // k-th image position → row k of [zeros; image_features]; text positions → row 0 (masked out below).
        string mask = g.Node("Cast", [isImage], ("to", (int)ElemType.Int64));
        string index = g.Node("Mul", [g.Node("CumSum", [mask, g.Int64Scalar("axis_1", 1)]), mask]);
        string padded = g.Node("Concat", [g.Floats("zero_row", ElemType.Float, [1, hidden], new float[hidden]), "image_features"], ("axis", 0));
        string image = g.Node("Gather", [padded, index]);
        string condition = g.Node("Unsqueeze", [isImage, g.Int64s("axes_m1", -1)]);
        g.NodeNamed("Where", "", [condition, image, text], ["inputs_embeds"]);
        g.Save(path);
    }

    /// <summary>
    /// pixel_values [images, crops, 3, 336, 336] + image_sizes [images, 2] → image_features [N, hidden], N the
    /// processor's token count: a space's embedding, then the five letters of the word the last image's mean brightness selects.
    /// </summary>
    private static void WriteVision(string path)
    {
        using var g = new OnnxGraph(path + ".data");
        int hidden = DesignedModel.Hidden;
        int size = VisionDesign.CropSize;
        g.Input("pixel_values", ElemType.Float, "num_images", "max_num_crops", 3, size, size);
        g.Input("image_sizes", ElemType.Int64, "num_images", 2);
        g.Output("image_features", ElemType.Float, "num_image_tokens", hidden);

        // Mean brightness of the last image's global view (crop 0): undo (x/255 − mean) / std per channel.
        string last = g.Node("Gather", ["pixel_values", g.Int64Scalar("last", -1)], ("axis", 0));
        string global = g.Node("Gather", [last, g.Int64Scalar("zero", 0)], ("axis", 0));
        string std = g.Floats("clip_std", ElemType.Float, [1, 3, 1, 1], s_clipStd);
        string mean = g.Floats("clip_mean", ElemType.Float, [1, 3, 1, 1], s_clipMean);
        string brightness = g.Node("ReduceMean", [g.Node("Add", [g.Node("Mul", [global, std]), mean])], ("keepdims", 0));
        string bright = g.Node("Greater", [brightness, g.Scalar("threshold", ElemType.Float, (float)VisionDesign.Threshold)]);
        string word = g.Node("Where", [bright, Word(g, "bright_word", VisionDesign.BrightWord), Word(g, "dark_word", VisionDesign.DarkWord)]);

        // Tokens per image: ((h/336)·(w/336) + 1)·144 + 1 + (h/336 + 1)·12, summed over images.
        string crop = g.Int64Scalar("crop", size);
        string rows = g.Node("Div", [g.Node("Gather", ["image_sizes", "zero"], ("axis", 1)), crop]);
        string columns = g.Node("Div", [g.Node("Gather", ["image_sizes", g.Int64Scalar("one", 1)], ("axis", 1)), crop]);
        string one = "one";
        string perImage = g.Node("Add", [
            g.Node("Add", [g.Node("Mul", [g.Node("Add", [g.Node("Mul", [rows, columns]), one]), g.Int64Scalar("c144", 144)]), one]),
            g.Node("Mul", [g.Node("Add", [rows, one]), g.Int64Scalar("c12", 12)])]);
        string total = g.Node("ReduceSum", [perImage, g.Int64s("axes_0", 0)], ("keepdims", 1)); // [1]
        string fillerCount = g.Node("Sub", [total, g.Int64s("word_length", VisionDesign.WordLength)]);
        string fillerShape = g.Node("Concat", [fillerCount, g.Int64s("hidden", hidden)], ("axis", 0));
        string filler = g.Node("Expand", [g.Floats("filler_row", ElemType.Float, [1, hidden], DesignedModel.EmbeddingRow(VisionDesign.FillerToken)), fillerShape]);
        g.NodeNamed("Concat", "", [filler, word], ["image_features"], ("axis", 0));
        g.Save(path);
    }

    private static string Word(OnnxGraph g, string name, string word)
    {
        int hidden = DesignedModel.Hidden;
        var rows = new float[word.Length * hidden];
        for (int i = 0; i < word.Length; i++) DesignedModel.EmbeddingRow(word[i]).CopyTo(rows.AsSpan(i * hidden, hidden));
        return g.Floats(name, ElemType.Float, [word.Length, hidden], rows);
    }

    private static void WriteProcessorConfig(string path) => TokenizerFiles.WriteJson(path, w =>
    {
        w.WriteStartObject();
        w.WriteStartObject("processor");
        w.WriteString("name", "phi_3_image_processor");
        w.WriteStartArray("transforms");
        Transform(w, "decode_image", "DecodeImage", a => a.WriteString("color_space", "RGB"));
        Transform(w, "convert_to_rgb", "ConvertRGB", null);
        Transform(w, "phi3_image_transform", "Phi3ImageTransform", null);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    });

    private static void Transform(System.Text.Json.Utf8JsonWriter w, string name, string type, Action<System.Text.Json.Utf8JsonWriter>? attrs)
    {
        w.WriteStartObject();
        w.WriteStartObject("operation");
        w.WriteString("name", name);
        w.WriteString("type", type);
        if (attrs is not null)
        {
            w.WriteStartObject("attrs");
            attrs(w);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }
}

/// <summary>Encoded test images for the vision design (stb_image_write): a uniform colour has an exactly known brightness.</summary>
public static class VisionImages
{
    /// <summary>A PNG of <paramref name="width"/> × <paramref name="height"/> pixels of one grey <paramref name="level"/> (0..255).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A side is not positive.</exception>
    public static byte[] Png(int width, int height, byte level) => Png(width, height, Uniform(width, height, level));

    /// <summary>A PNG of RGB pixels (row by row, 3 bytes each).</summary>
    /// <exception cref="ArgumentException">The pixel count is not width × height × 3.</exception>
    public static byte[] Png(int width, int height, byte[] rgb) => Encode(width, height, rgb, (w, s) => w.WritePng(rgb, width, height, StbImageWriteSharp.ColorComponents.RedGreenBlue, s));

    /// <summary>A JPEG (quality 95) of one grey <paramref name="level"/>: a uniform block keeps its level within 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A side is not positive.</exception>
    public static byte[] Jpeg(int width, int height, byte level)
    {
        byte[] rgb = Uniform(width, height, level);
        return Encode(width, height, rgb, (w, s) => w.WriteJpg(rgb, width, height, StbImageWriteSharp.ColorComponents.RedGreenBlue, s, 95));
    }

    private static byte[] Uniform(int width, int height, byte level)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        var rgb = new byte[width * height * 3];
        Array.Fill(rgb, level);
        return rgb;
    }

    private static byte[] Encode(int width, int height, byte[] rgb, Action<StbImageWriteSharp.ImageWriter, Stream> write)
    {
        if (rgb.Length != width * height * 3)
            throw new ArgumentException($"Expected {width * height * 3} bytes (width × height × 3), got {rgb.Length}.", nameof(rgb));
        using var stream = new MemoryStream();
        write(new StbImageWriteSharp.ImageWriter(), stream);
        return stream.ToArray();
    }
}
