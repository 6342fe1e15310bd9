using LocalLlm.Samples.Tests.WebChat;
using Microsoft.Playwright;

namespace LocalLlm.Samples.Tests.ChatPage;

/// <summary>The chat page in headless Chromium (Debian's package, no browser download): type, send, watch the answer stream in.</summary>
public sealed class ChatPageTests(WebChatServer server) : IClassFixture<WebChatServer>
{
    [Fact]
    public async Task SendMessage_AnswerStreamsIntoThePage()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await HeadlessChromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        // Generous waits: CI machines may be busy; the checks are about what appears, not how fast.
        page.SetDefaultTimeout(60_000);
        Assertions.SetDefaultExpectTimeout(60_000);
        await page.GotoAsync(server.BaseUri.ToString());
        await Assertions.Expect(page.Locator("#model")).ToContainTextAsync("model: copy-");

        // Count how often the answer's text changes: more than once means it streamed in.
        await page.EvaluateAsync("""
            () => {
              window.answerChanges = 0;
              new MutationObserver(() => window.answerChanges++).observe(document.getElementById('messages'), { subtree: true, characterData: true, childList: true });
            }
            """);
        const string question = "Hello from the browser! Please repeat the end of this sentence back to me, word for word.";
        await page.FillAsync("#input", question);
        await page.ClickAsync("#send");

        var answer = page.Locator(".message.assistant.done");
        await Assertions.Expect(answer).ToHaveCountAsync(1);
        Assert.Equal(Chat.ChatSampleTests.ExpectedDemoAnswer(question, system: null), await answer.Locator(".text").TextContentAsync());
        await Assertions.Expect(answer.Locator(".stats")).ToContainTextAsync("65 tokens");
        Assert.Equal(question, await page.Locator(".message.user .text").TextContentAsync());
        Assert.True(await page.EvaluateAsync<int>("() => window.answerChanges") > 1, "the answer should arrive in pieces");
    }
}
