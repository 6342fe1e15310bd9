using LocalLlm.ModelForge;

namespace LocalLlm.Tests.Chat;

/// <summary>
/// Images through ONNX Runtime GenAI's phi3v processor on ModelForge's vision design, whose reply names the image's
/// brightness (<see cref="VisionDesign"/>): every expected value comes from the design's definition. In the lifetime
/// collection (never in parallel with other tests) because it counts live generators, which are process-wide.
/// </summary>
[Collection(nameof(LifetimeTests))]
public sealed class VisionTests : IDisposable
{
    private const string Question = "What colour is this? ";
    private const byte Dark = 30, Bright = 220;
    private readonly string _temp = Directory.CreateTempSubdirectory("localllm-vision-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    internal static LocalModel VisionModel() =>
        LocalModel.Load(ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Vision }), new LocalModelOptions { ExecutionProvider = ExecutionProvider.Cpu });

    private static ChatOptions Greedy => new() { Temperature = 0, MaxOutputTokens = 20 };

    private static ChatMessage Ask(AIContent image, string question = Question) => new(ChatRole.User, [new TextContent(question), image]);

    /// <summary>ChatML text tokens around the question plus the design's image tokens.</summary>
    private static int PromptTokens(string userText, params (int Width, int Height)[] images) =>
        ByteTokenizer.Encode($"<|im_start|>user\n{userText}<|im_end|>\n<|im_start|>assistant\n").Length
        + images.Sum(i => VisionDesign.ImageTokens(i.Width, i.Height));

    public static TheoryData<string, byte, bool> Images()
    {
        var data = new TheoryData<string, byte, bool>();
        foreach (string format in new[] { "image/png", "image/jpeg" })
            foreach (byte level in new[] { Dark, Bright })
                foreach (bool stream in new[] { false, true })
                    data.Add(format, level, stream);
        return data;
    }

    private static byte[] Encode(string format, int width, int height, byte level) =>
        format == "image/png" ? VisionImages.Png(width, height, level) : VisionImages.Jpeg(width, height, level);

    [Theory]
    [MemberData(nameof(Images))]
    public async Task Response_ImageOfKnownBrightness_AnswersTheDesignedWord(string format, byte level, bool stream)
    {
        using var model = VisionModel();
        using var client = new LocalLlmChatClient(model);
        ChatMessage[] messages = [Ask(new DataContent(Encode(format, 64, 64, level), format))];

        ChatResponse response = stream
            ? await client.GetStreamingResponseAsync(messages, Greedy).ToChatResponseAsync()
            : await client.GetResponseAsync(messages, Greedy);

        Assert.Equal(VisionDesign.Answer(level / 255.0), response.Text);
        Assert.Equal(level == Dark ? "black" : "white", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(PromptTokens(Question, (64, 64)), response.Usage!.InputTokenCount);
        Assert.Equal(VisionDesign.WordLength + 1, response.Usage.OutputTokenCount); // the word and the copied <|im_end|>
        Assert.Equal(0, response.Usage.CachedInputTokenCount);
    }

    [Fact]
    public async Task Streaming_Image_StreamsTheWordTokenByToken()
    {
        using var model = VisionModel();
        using var client = new LocalLlmChatClient(model);

        var texts = new List<string>();
        long? promptTokens = null;
        await foreach (var update in client.GetStreamingResponseAsync([Ask(new DataContent(VisionImages.Png(40, 100, Bright), "image/png"))], Greedy))
        {
            if (update.Text.Length > 0) texts.Add(update.Text);
            if (update.Contents.OfType<UsageContent>().FirstOrDefault() is { } usage) promptTokens = usage.Details.InputTokenCount;
        }

        Assert.Equal("white", string.Concat(texts));
        Assert.Equal(PromptTokens(Question, (40, 100)), promptTokens); // portrait: 5 rows × 2 columns of crops
        Assert.True(texts.Count > 1, $"one update: {texts.Count}");
    }

    [Fact]
    public async Task Response_DifferentImagesInTurn_NeverReuseTheCache()
    {
        using var model = VisionModel();
        using var client = new LocalLlmChatClient(model);

        foreach (byte level in new[] { Dark, Bright, Dark, Bright })
        {
            var response = await client.GetResponseAsync([Ask(new DataContent(VisionImages.Png(64, 64, level), "image/png"))], Greedy);
            Assert.Equal(VisionDesign.Answer(level / 255.0), response.Text);
            Assert.Equal(0, response.Usage!.CachedInputTokenCount);
        }
        Assert.Equal(0, GenerationLoop.LiveGenerators);
    }

    [Fact]
    public async Task Response_ConversationWithTwoImages_ProcessesBothAndAnswersTheLast()
    {
        using var model = VisionModel();
        using var client = new LocalLlmChatClient(model);
        // 100 × 40: a 2 × 5 crop grid, 1,621 tokens, so two fit the 4,096-token context.
        var first = Ask(new DataContent(VisionImages.Png(100, 40, Dark), "image/png"));
        var firstReply = await client.GetResponseAsync([first], Greedy);
        Assert.Equal("black", firstReply.Text);

        ChatMessage[] history = [first, .. firstReply.Messages, Ask(new DataContent(VisionImages.Jpeg(100, 40, Bright), "image/jpeg"), "And this? ")];
        var second = await client.GetResponseAsync(history, Greedy);

        Assert.Equal("white", second.Text);
        int expected = ByteTokenizer.Encode($"<|im_start|>user\n{Question}<|im_end|>\n<|im_start|>assistant\nblack<|im_end|>\n<|im_start|>user\nAnd this? <|im_end|>\n<|im_start|>assistant\n").Length
            + (2 * VisionDesign.ImageTokens(100, 40));
        Assert.Equal(expected, second.Usage!.InputTokenCount);
        Assert.Equal(0, second.Usage.CachedInputTokenCount);
    }

    [Fact]
    public async Task Response_ConcurrentRequestsWithDifferentImages_EachGetsItsOwnWord()
    {
        using var model = VisionModel();
        using var client = new LocalLlmChatClient(model);
        byte[] dark = VisionImages.Png(64, 64, Dark), bright = VisionImages.Jpeg(64, 64, Bright);

        var tasks = Enumerable.Range(0, 6).Select(i => client.GetResponseAsync([Ask(new DataContent(i % 2 == 0 ? dark : bright, i % 2 == 0 ? "image/png" : "image/jpeg"))], Greedy)).ToList();
        var responses = await Task.WhenAll(tasks);

        for (int i = 0; i < responses.Length; i++) Assert.Equal(i % 2 == 0 ? "black" : "white", responses[i].Text);
        Assert.Equal(0, GenerationLoop.LiveGenerators);
    }

    [Fact]
    public async Task Streaming_CancelledDuringImagePrefill_EndsAndTheNextRequestAnswers()
    {
        using var model = VisionModel();
        using var cts = new CancellationTokenSource();
        using var client = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { PrefillStarting = () => cts.Cancel() });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync([Ask(new DataContent(VisionImages.Png(64, 64, Dark), "image/png"))], Greedy, cts.Token)) { }
        });

        Assert.Equal(0, GenerationLoop.LiveGenerators);
        using var next = new LocalLlmChatClient(model);
        Assert.Equal("white", (await next.GetResponseAsync([Ask(new DataContent(VisionImages.Png(64, 64, Bright), "image/png"))], Greedy)).Text);
    }

    [Fact]
    public async Task Response_TextOnlyOnVisionModel_CopiesTheText()
    {
        using var model = VisionModel();
        using var client = new LocalLlmChatClient(model);
        const string text = "Say hello";

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, text)], Greedy);

        int[] prompt = ByteTokenizer.Encode($"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n");
        Assert.Equal(ByteTokenizer.Decode(CopyDesign.ExpectedReply(prompt, 20, VisionDesign.Lag)), response.Text);
        Assert.Equal("hello", response.Text);
    }

    [Fact]
    public async Task Response_FileUri_ReadOnlyWhenAllowed()
    {
        using var model = VisionModel();
        string path = Path.Combine(_temp, "bright.png");
        File.WriteAllBytes(path, VisionImages.Png(64, 64, Bright));
        var file = new UriContent(new Uri(path), "image/png");

        using (var closed = new LocalLlmChatClient(model))
        {
            var e = await Assert.ThrowsAsync<ArgumentException>(() => closed.GetResponseAsync([Ask(file)], Greedy));
            Assert.Equal("messages", e.ParamName);
            Assert.Contains("AllowImageFiles", e.Message, StringComparison.Ordinal);
            Assert.Contains("DataContent", e.Message, StringComparison.Ordinal);
        }

        using var open = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { AllowImageFiles = true });
        Assert.Equal("white", (await open.GetResponseAsync([Ask(file)], Greedy)).Text);
        var missing = await Assert.ThrowsAsync<ArgumentException>(() => open.GetResponseAsync([Ask(new UriContent(new Uri(Path.Combine(_temp, "none.png")), "image/png"))], Greedy));
        Assert.Contains("does not exist", missing.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, AIContent, string> BadImages()
    {
        byte[] png = VisionImages.Png(64, 64, Dark);
        byte[] jpeg = VisionImages.Jpeg(64, 64, Dark);
        int sos = IndexOf(jpeg, 0xFF, 0xDA);
        byte[] wide = (byte[])png.Clone();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(wide.AsSpan(16), 5000); // IHDR width
        return new()
        {
            { "not an image", new DataContent("hello"u8.ToArray(), "image/png"), "not a PNG or JPEG image" },
            { "empty", new DataContent(Array.Empty<byte>(), "image/png"), "it is empty" },
            { "webp", new DataContent("RIFF\0\0\0\0WEBPVP8 "u8.ToArray(), "image/webp"), "not a PNG or JPEG image" },
            { "PNG cut in its header", new DataContent(png.AsMemory(0, 20), "image/png"), "header does not parse" },
            { "PNG cut in its data", new DataContent(png.AsMemory(0, png.Length / 2), "image/png"), "does not decode as PNG" },
            // Given to the native decoder, these two end the process (libjpeg: "Improper call to JPEG library in state 201")
            // and loop forever; LocalLlm decodes them in managed code first.
            { "JPEG cut in its header", new DataContent(jpeg.AsMemory(0, sos - 40), "image/jpeg"), "no end-of-image marker: the file is cut" },
            { "JPEG cut after its scan header", new DataContent(jpeg.AsMemory(0, sos + 14), "image/jpeg"), "no end-of-image marker: the file is cut" },
            { "JPEG with a damaged header", new DataContent(Damaged(jpeg, 2, sos), "image/jpeg"), "JPEG" },
            { "too wide", new DataContent(wide, "image/png"), "5000 × 64 pixels; at most 4096" },
            { "too large", new DataContent(new byte[RequestValidation.MaxImageBytes + 1], "image/png"), "at most 20,971,520 are accepted" },
            { "audio", new DataContent(new byte[] { 1, 2, 3 }, "audio/wav"), "reads text and images (PNG, JPEG) only" },
            { "URL", new UriContent(new Uri("https://example.invalid/cat.png"), "image/png"), "LocalLlm never downloads" },
        };
    }

    /// <summary>The bytes with every byte in [from, to) set to 0xFF (segment lengths and tables become nonsense).</summary>
    private static byte[] Damaged(byte[] bytes, int from, int to)
    {
        var copy = (byte[])bytes.Clone();
        copy.AsSpan(from, to - from).Fill(0xFF);
        return copy;
    }

    private static int IndexOf(byte[] bytes, byte a, byte b)
    {
        for (int i = 0; i + 1 < bytes.Length; i++)
            if (bytes[i] == a && bytes[i + 1] == b) return i;
        throw new InvalidOperationException("marker not found");
    }

    [Theory]
    [MemberData(nameof(BadImages))]
    public async Task Response_BadImage_ThrowsBeforeNativeCodeAndTheClientStillAnswers(string kind, AIContent image, string expected)
    {
        using var model = VisionModel();
        using var client = new LocalLlmChatClient(model);

        var e = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync([Ask(image)], Greedy).WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.True(e.ParamName == "messages", $"{kind}: {e.ParamName}");
        Assert.Contains("messages[0] holds", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Equal("black", (await client.GetResponseAsync([Ask(new DataContent(VisionImages.Png(64, 64, Dark), "image/png"))], Greedy)).Text);
    }

    [Fact]
    public async Task Response_PlaceholderTextWithImage_Throws()
    {
        using var model = VisionModel();
        using var client = new LocalLlmChatClient(model);

        var e = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync([Ask(new DataContent(VisionImages.Png(8, 8, Dark), "image/png"), "Compare <|image_2|> ")], Greedy));

        Assert.Equal("messages", e.ParamName);
        Assert.Contains("image placeholder", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Response_ImageWithBeams_ThrowsNotSupported()
    {
        using var model = VisionModel();
        using var client = new LocalLlmChatClient(model);

        var e = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync([Ask(new DataContent(VisionImages.Png(8, 8, Dark), "image/png"))], Greedy.WithNumBeams(2)));

        Assert.Contains("text prompts only", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, GenerationLoop.LiveGenerators);
    }

    [Fact]
    public async Task Response_TooManyImageTokensForTheContext_ThrowsPromptLength()
    {
        using var model = VisionModel();
        using var client = new LocalLlmChatClient(model);
        var image = VisionImages.Png(64, 64, Dark);

        var e = await Assert.ThrowsAsync<PromptLengthException>(() => client.GetResponseAsync(
            [new ChatMessage(ChatRole.User, [new DataContent(image, "image/png"), new DataContent(image, "image/png")])], Greedy));

        Assert.Contains((ByteTokenizer.Encode("<|im_start|>user\n<|im_end|>\n<|im_start|>assistant\n").Length + (2 * VisionDesign.ImageTokens(64, 64))).ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ImageTokens_MatchesTheDesignsDefinition()
    {
        foreach (var (w, h) in new[] { (64, 64), (100, 40), (40, 100), (1, 1), (4096, 17), (640, 480), (333, 1000) })
            Assert.Equal(VisionDesign.ImageTokens(w, h), PromptImages.ImageTokens(w, h));
    }
}

/// <summary>
/// Damaged images in a child process (tests/BadInputProbe, "images"): JPEG and PNG cut at every 23rd byte, cut with the
/// end marker put back, and with seeded byte flips. Given to the native decoder some of these end the process or hang;
/// through LocalLlm each ends in an answer or an ArgumentException naming the message.
/// </summary>
public sealed class DamagedImageTests
{
    [Fact]
    public async Task Images_CutAndFlippedPngAndJpeg_NoCrashNoHangOnlyClearOutcomes()
    {
        string dir = Directory.CreateTempSubdirectory("localllm-damaged-").FullName;
        try
        {
            byte[] jpeg = VisionImages.Jpeg(48, 48, 200), png = VisionImages.Png(48, 48, 40);
            int files = 0;
            void Write(string name, byte[] bytes) { File.WriteAllBytes(Path.Combine(dir, name), bytes); files++; }
            for (int cut = 1; cut < jpeg.Length; cut += 23)
            {
                Write($"jpeg-cut-{cut:D5}.jpg", jpeg[..cut]);
                Write($"jpeg-cut-eoi-{cut:D5}.jpg", [.. jpeg[..cut], 0xFF, 0xD9]);
            }
            for (int cut = 1; cut < png.Length; cut += 23) Write($"png-cut-{cut:D5}.png", png[..cut]);
            var random = new Random(20261203);
            for (int i = 0; i < 20; i++)
            {
                foreach (var (source, ext) in new[] { (jpeg, "jpg"), (png, "png") })
                {
                    byte[] flipped = (byte[])source.Clone();
                    for (int k = 0; k < 4; k++) flipped[random.Next(2, source.Length - 2)] ^= (byte)random.Next(1, 256);
                    Write($"flip-{ext}-{i:D2}.{ext}", flipped);
                }
            }
            string folder = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Vision });

            string output = await Runtime.BadModelFolderTests.RunProbeAsync("images", folder, dir);

            string[] lines = output.Split('\n');
            Assert.Equal($"images done: {files} files, 0 unexpected", lines[^1]);
            Assert.DoesNotContain(lines, l => l.Contains("UNEXPECTED", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains(": caught ArgumentException", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains(": ok ", StringComparison.Ordinal)); // some damaged files still decode and reach the processor as PNGs
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
