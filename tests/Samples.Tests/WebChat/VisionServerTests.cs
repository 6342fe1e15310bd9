using System.ClientModel;
using System.Text.Json;
using LocalLlm.ModelForge;
using OpenAI.Chat;

namespace LocalLlm.Samples.Tests.WebChat;

/// <summary>The web sample over ModelForge's vision design (a phi3v folder whose reply names the image's brightness).</summary>
public sealed class VisionWebChatServer() : WebChatServer(["--LocalLlm:ModelPath=" + ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Vision })]);

/// <summary>
/// <c>image_url</c> data URLs from the official OpenAI .NET client reach the model through its image processor on a real
/// Kestrel: the answers are the design's words, streaming or not.
/// </summary>
public sealed class VisionServerTests(VisionWebChatServer server) : IClassFixture<VisionWebChatServer>
{
    private const string Question = "What colour is this? ";

    private static UserChatMessage Ask(byte[] image, string mediaType) =>
        new(ChatMessageContentPart.CreateTextPart(Question), ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(image), mediaType));

    [Theory]
    [InlineData(30, "image/png", false)]
    [InlineData(220, "image/png", false)]
    [InlineData(30, "image/jpeg", true)]
    [InlineData(220, "image/jpeg", true)]
    public async Task CompleteChat_DataUrlImage_AnswersTheDesignedWord(byte level, string mediaType, bool stream)
    {
        byte[] image = mediaType == "image/png" ? VisionImages.Png(64, 64, level) : VisionImages.Jpeg(64, 64, level);
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 20 };
        string text;
        int? promptTokens = null;
        if (!stream)
        {
            ChatCompletion completion = (await server.OpenAIChat().CompleteChatAsync([Ask(image, mediaType)], options)).Value;
            text = completion.Content[0].Text;
            promptTokens = completion.Usage.InputTokenCount;
        }
        else
        {
            var parts = new List<string>();
            await foreach (var update in server.OpenAIChat().CompleteChatStreamingAsync([Ask(image, mediaType)], options))
                parts.AddRange(update.ContentUpdate.Select(p => p.Text));
            text = string.Concat(parts);
        }

        Assert.Equal(VisionDesign.Answer(level / 255.0), text);
        if (promptTokens is { } n)
            Assert.Equal(ByteTokenizer.Encode($"<|im_start|>user\n{Question}<|im_end|>\n<|im_start|>assistant\n").Length + VisionDesign.ImageTokens(64, 64), n);
    }

    [Fact]
    public async Task CompleteChat_HttpImageUrl_Returns400SayingItIsNeverFetched()
    {
        UserChatMessage message = new(ChatMessageContentPart.CreateTextPart(Question), ChatMessageContentPart.CreateImagePart(new Uri("https://example.invalid/cat.png")));

        var e = await Assert.ThrowsAsync<ClientResultException>(() => server.OpenAIChat().CompleteChatAsync([message]));

        Assert.Equal(400, e.Status);
        var error = JsonDocument.Parse(e.GetRawResponse()!.Content).RootElement.GetProperty("error");
        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Contains("never downloads", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompleteChat_CutJpeg_Returns400AndTheServerKeepsAnswering()
    {
        byte[] jpeg = VisionImages.Jpeg(64, 64, 30);

        var e = await Assert.ThrowsAsync<ClientResultException>(() => server.OpenAIChat().CompleteChatAsync([Ask(jpeg[..(jpeg.Length / 2)], "image/jpeg")]));

        Assert.Equal(400, e.Status);
        Assert.Contains("the file is cut", JsonDocument.Parse(e.GetRawResponse()!.Content).RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        var ok = (await server.OpenAIChat().CompleteChatAsync([Ask(VisionImages.Png(8, 8, 220), "image/png")], new ChatCompletionOptions { Temperature = 0 })).Value;
        Assert.Equal("white", ok.Content[0].Text);
    }
}
