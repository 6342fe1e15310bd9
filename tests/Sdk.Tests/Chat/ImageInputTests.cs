namespace LocalLlm.Tests.Chat;

/// <summary>
/// An image (or any file) in a message is never dropped silently: the prompt is text only, so the request fails before
/// native code with a message naming the message, the model and the fix (Chat/RequestValidation.cs, Media). The copy
/// model echoes the prompt, so the client answering afterwards proves nothing was left half-done.
/// </summary>
public sealed class ImageInputTests
{
    private const string Sentence = "Still answering.";

    private static readonly byte[] s_png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==");

    public static TheoryData<string, AIContent, string> Media() => new()
    {
        { "PNG bytes", new DataContent(s_png, "image/png"), "an image (image/png)" },
        { "data URI", new DataContent("data:image/jpeg;base64,/9j/4AAQ"), "an image (image/jpeg)" },
        { "image by URI", new UriContent(new Uri("https://example.invalid/cat.webp"), "image/webp"), "an image (image/webp)" },
        { "audio clip", new DataContent(new byte[] { 1, 2, 3 }, "audio/wav"), "a file (audio/wav)" },
    };

    [Theory]
    [MemberData(nameof(Media))]
    public async Task GetResponseAsync_MediaForTextModel_ThrowsNamingModelAndFix(string kind, AIContent media, string what)
    {
        using var model = ForgedModelTests.CopyModel(Sentence.Length);
        using var client = new LocalLlmChatClient(model);
        ChatMessage[] messages = [new(ChatRole.User, "first"), new(ChatRole.User, [new TextContent("What is this?"), media])];

        var e = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(messages, new ChatOptions { Instructions = "Be brief." }));

        Assert.True("messages" == e.ParamName, $"{kind}: {e.ParamName}");
        Assert.Contains($"messages[1] holds {what}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"model '{model.Info.Id}' reads text only: it has no vision processor", e.Message, StringComparison.Ordinal);
        Assert.Contains("Remove it, or describe it in text.", e.Message, StringComparison.Ordinal);
        Assert.Equal(Sentence, (await client.GetResponseAsync([new ChatMessage(ChatRole.User, Sentence)])).Text);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ImageForTextModel_ThrowsBeforeTheFirstUpdate()
    {
        using var model = ForgedModelTests.CopyModel(Sentence.Length);
        using var client = new LocalLlmChatClient(model);
        var updates = new List<ChatResponseUpdate>();

        var e = await Assert.ThrowsAsync<ArgumentException>(async () =>
        {
            await foreach (var u in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, [new DataContent(s_png, "image/png"), new TextContent(Sentence)])]))
                updates.Add(u);
        });

        Assert.Empty(updates);
        Assert.Contains("messages[0] holds an image (image/png)", e.Message, StringComparison.Ordinal);
    }
}
