using Microsoft.Playwright;

namespace LocalLlm.Samples.Tests.ChatPage;

/// <summary>Debian's Chromium driven headless by Playwright (no browser download; the flags keep it off this machine's closed network).</summary>
internal static class HeadlessChromium
{
    private const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>Launches the browser; fails with the fix when Chromium is not installed.</summary>
    public static Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        Assert.True(File.Exists(ChromiumPath),
            $"{ChromiumPath} is missing: install Debian's chromium package (apt-get install -y chromium); bash eng/test.sh (the README's test command) installs it.");
        return playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }
}
