namespace LocalLlm.ModelForge.Tests;

/// <summary>
/// The vision design through ONNX Runtime GenAI's own API (MultiModalProcessor, Generator.SetInputs), no LocalLlm:
/// the greedy reply is the word the last image's brightness selects, and the prompt holds the design's image tokens.
/// </summary>
public sealed class VisionDesignTests
{
    private static (string Text, int PromptTokens) Answer(Model model, string prompt, params byte[][] pngs)
    {
        using var temp = new TempDirectory();
        string[] paths = [.. pngs.Select((png, i) => Path.Combine(temp.Path, $"{i}.png"))];
        for (int i = 0; i < pngs.Length; i++) File.WriteAllBytes(paths[i], pngs[i]);
        using var tokenizer = new Tokenizer(model);
        using var processor = new MultiModalProcessor(model);
        using var images = Images.Load(paths);
        using var inputs = processor.ProcessImages(prompt, images);
        using var parameters = new GeneratorParams(model);
        parameters.SetSearchOption("max_length", VisionDesign.DefaultContextLength);
        using var generator = new Generator(model, parameters);
        generator.SetInputs(inputs);
        int promptTokens = (int)generator.TokenCount();
        var output = new List<int>();
        while (!generator.IsDone() && output.Count < 10)
        {
            generator.GenerateNextToken();
            output.Add(generator.GetNextTokens()[0]);
        }
        return (tokenizer.Decode([.. output]), promptTokens);
    }

    [Theory]
    [InlineData(64, 64, 0)]
    [InlineData(64, 64, 127)]
    [InlineData(64, 64, 128)]
    [InlineData(64, 64, 255)]
    [InlineData(100, 40, 20)]
    [InlineData(40, 100, 230)]
    public void Vision_OneImage_RepliesTheBrightnessWord(int width, int height, byte level)
    {
        using var temp = new TempDirectory();
        string folder = RawApi.Forge(temp, new ForgeOptions { Design = ModelDesign.Vision });
        using var model = new Model(folder);
        const string text = "<|im_start|>user\nLook: ";
        const string tail = "<|im_end|>\n<|im_start|>assistant\n";

        var (reply, promptTokens) = Answer(model, text + "<|image_1|>" + tail, VisionImages.Png(width, height, level));

        Assert.Equal(VisionDesign.Answer(level / 255.0), reply);
        Assert.Equal(ByteTokenizer.Encode(text + tail).Length + VisionDesign.ImageTokens(width, height), promptTokens);
    }

    [Fact]
    public void Vision_TwoImages_TheLastOneDecides()
    {
        using var temp = new TempDirectory();
        string folder = RawApi.Forge(temp, new ForgeOptions { Design = ModelDesign.Vision });
        using var model = new Model(folder);
        byte[] dark = VisionImages.Png(100, 40, 10), bright = VisionImages.Png(100, 40, 245);
        const string prompt = "<|im_start|>user\n<|image_1|> then <|image_2|><|im_end|>\n<|im_start|>assistant\n";

        Assert.Equal(VisionDesign.BrightWord, Answer(model, prompt, dark, bright).Text);
        Assert.Equal(VisionDesign.DarkWord, Answer(model, prompt, bright, dark).Text);
    }

    [Fact]
    public void Validate_VisionAtFp16_ThrowsNamingThePrecision()
    {
        var e = Assert.Throws<ArgumentException>(() => new ForgeOptions { Design = ModelDesign.Vision, Precision = WeightPrecision.Fp16 }.Validate());
        Assert.Contains("vision design", e.Message, StringComparison.Ordinal);
    }
}
