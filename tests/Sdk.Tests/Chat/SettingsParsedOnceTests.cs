using LocalLlm.ModelForge;
using Microsoft.Extensions.Logging;

namespace LocalLlm.Tests.Chat;

/// <summary>A request's settings are parsed once: an unsupported option is warned about once per request, whichever method serves it.</summary>
public sealed class SettingsParsedOnceTests
{
    [Fact]
    public async Task GetResponseAsync_UnsupportedPenalty_WarnsOncePerRequest()
    {
        using var model = LocalModel.Load(ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Lag = 13 + 5 }));
        var logger = new CountingLogger();
        using var client = new LocalLlmChatClient(model, null, null, logger);
        var options = new ChatOptions { MaxOutputTokens = 2, FrequencyPenalty = 0.5f };

        await client.GetResponseAsync("Hello there world", options);
        Assert.Equal(1, logger.Warnings);
        await foreach (var _ in client.GetStreamingResponseAsync("Hello there world", options)) { }
        Assert.Equal(2, logger.Warnings);
    }

    private sealed class CountingLogger : ILogger<LocalLlmChatClient>
    {
        private int _warnings;

        public int Warnings => Volatile.Read(ref _warnings);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning && formatter(state, exception).Contains("FrequencyPenalty", StringComparison.Ordinal)) Interlocked.Increment(ref _warnings);
        }
    }
}
