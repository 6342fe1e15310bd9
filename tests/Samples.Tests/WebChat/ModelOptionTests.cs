using LocalLlm.ModelForge;
using OpenAI.Chat;

namespace LocalLlm.Samples.Tests.WebChat;

/// <summary>The web chat configured with <c>LocalLlm:Model</c> (a catalog id or a folder) instead of ModelPath.</summary>
public sealed class ModelOptionWebChatServer() : WebChatServer(
[
    "--LocalLlm:Model=" + ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Lag = 4 }),
]);

public sealed class ModelOptionTests(ModelOptionWebChatServer server) : IClassFixture<ModelOptionWebChatServer>
{
    [Fact]
    public async Task LocalLlmModel_Folder_ServesThatModelNotTheDemo()
    {
        // A copy model with lag 4 repeats "ant\n" (the end of "<|im_start|>assistant\n"); the demo model would echo the question.
        ChatCompletion done = await server.OpenAIChat().CompleteChatAsync([new UserChatMessage("Which model answers?")], new ChatCompletionOptions { MaxOutputTokenCount = 8 });
        Assert.Equal("ant\nant\n", done.Content[0].Text);
    }
}
