using System.Text.RegularExpressions;
using LocalLlm.Samples.Tests.WebChat;
using Microsoft.Playwright;

namespace LocalLlm.Samples.Tests.ChatPage;

/// <summary>
/// The chat page on a two-model server, in headless Chromium: pick the model and a sampling preset, send, and read the
/// stats line the SDK measured for the answer (time to first token, tokens, tok/s, reused prompt tokens, finish reason);
/// a screenshot of the page after the answer is kept in the test output folder.
/// </summary>
public sealed partial class ChatPageStatsTests(TwoModelWebChatServer server, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<TwoModelWebChatServer>
{
    [GeneratedRegex(@"^TTFT \d+ ms · 65 tokens · \d+\.\d tok/s · (?<reused>\d+) of (?<prompt>\d+) prompt tokens reused · finish: stop$")]
    private static partial Regex StatsLine();

    [Fact]
    public async Task PickModelAndPreset_AnswerShowsMeasuredStats_ScreenshotTaken()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await HeadlessChromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1000, Height = 700 } });
        page.SetDefaultTimeout(60_000);
        Assertions.SetDefaultExpectTimeout(60_000);
        await page.GotoAsync(server.BaseUri.ToString());

        var models = page.Locator("#model-select option");
        await Assertions.Expect(models).ToHaveCountAsync(2);
        Assert.StartsWith("ant (fp32, ", await models.Nth(1).TextContentAsync(), StringComparison.Ordinal);
        await page.SelectOptionAsync("#model-select", "echo");
        await page.SelectOptionAsync("#preset", "deterministic");

        const string question = "Hello from the browser! Please repeat the end of this sentence back to me, word for word.";
        await page.FillAsync("#input", question);
        await page.ClickAsync("#send");
        var answer = page.Locator(".message.assistant.done");
        await Assertions.Expect(answer).ToHaveCountAsync(1);
        Assert.Equal(Chat.ChatSampleTests.ExpectedDemoAnswer(question, system: null), await answer.Locator(".text").TextContentAsync());

        string stats = (await answer.Locator(".stats").TextContentAsync())!;
        var match = StatsLine().Match(stats);
        Assert.True(match.Success, $"stats line: {stats}");
        Assert.Equal("0", match.Groups["reused"].Value); // the first turn has nothing cached

        string shot = Path.Combine(AppContext.BaseDirectory, "chat-page-after-one-answer.png");
        byte[] png = await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
        Assert.True(png.Length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', "the screenshot should be a PNG");
        output.WriteLine($"screenshot: {shot}; stats: {stats}");
    }
}
