using System.Diagnostics.Metrics;
using LocalLlm.Guardrails.Pii;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LocalLlm.Guardrails.Tests;

public class GuardrailsDiagnosticsTests
{
    private const string Secret = "jane.doe@example.com";

    private sealed class ThrowingCheck : IGuardrailCheck
    {
        public string Name => "broken";

        public ValueTask<GuardrailVerdict> CheckAsync(GuardrailContext context, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("model file missing");
    }

    [Fact]
    public async Task GetResponseAsync_ThrowingCheckFailClosed_BlocksAndLogsWarning()
    {
        var logs = new FakeLogCollector();
        var inner = new FakeChatClient();
        var client = new GuardrailsChatClient(inner, new GuardrailsOptions().AddInputCheck(new ThrowingCheck()), logs);

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hello")]);

        Assert.Equal(0, inner.Calls);
        Assert.Equal(ChatFinishReason.ContentFilter, response.FinishReason);
        Assert.Equal(GuardrailsOptions.CheckFailedCategory, response.AdditionalProperties![GuardrailsPropertyNames.Category]);
        var warning = Assert.Single(logs.Entries, e => e.Id.Id == 2002);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("broken", warning.Message, StringComparison.Ordinal);
        Assert.Contains("FailClosed", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ThrowingCheckFailOpen_AllowsAndLogsWarning()
    {
        var logs = new FakeLogCollector();
        var options = new GuardrailsOptions { FailureMode = GuardrailFailureMode.FailOpen }.AddOutputCheck(new ThrowingCheck());
        var inner = new FakeChatClient { GetStreamingResponseAsyncCallback = (_, _, ct) => FakeChatClient.Chunks(ct, "fine ", "answer") };
        var client = new GuardrailsChatClient(inner, options, logs);

        var response = await client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hello")]).ToChatResponseAsync();

        Assert.Equal("fine answer", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Contains(logs.Entries, e => e.Id.Id == 2002 && e.Level == LogLevel.Warning && e.Message.Contains("FailOpen", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Logging_NoPromptOrAnswerTextAtInformationOrAbove()
    {
        var logs = new FakeLogCollector();
        var options = new GuardrailsOptions()
            .AddInputCheck(new PiiCheck())
            .AddInputCheck(FakeCheck.RejectWord("capital", "geo"))
            .AddOutputCheck(new PiiCheck())
            .AddOutputCheck(new ThrowingCheck())
            .SetPolicy("geo", GuardrailAction.Flag);
        options.FailureMode = GuardrailFailureMode.FailOpen;
        var inner = new FakeChatClient
        {
            GetResponseAsyncCallback = (_, _, _) => Task.FromResult(FakeChatClient.Reply($"Write to {Secret} about the capital.")),
            GetStreamingResponseAsyncCallback = (_, _, ct) => FakeChatClient.Chunks(ct, "Write to ", Secret, " about the capital."),
        };
        var client = new GuardrailsChatClient(inner, options, logs);
        ChatMessage[] prompt = [new(ChatRole.User, $"My mail is {Secret}; what is the capital?")];

        await client.GetResponseAsync(prompt);
        await client.GetStreamingResponseAsync(prompt).ToChatResponseAsync();

        var visible = logs.Entries.Where(e => e.Level >= LogLevel.Information).ToList();
        Assert.NotEmpty(visible);
        Assert.Contains(visible, e => e.Id.Id == 2001); // findings are logged...
        Assert.All(visible, e =>
        {
            Assert.InRange(e.Id.Id, 2000, 2999);
            Assert.DoesNotContain(Secret, e.Message, StringComparison.Ordinal); // ...but never the text
            Assert.DoesNotContain("jane", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("capital?", e.Message, StringComparison.Ordinal);
            Assert.Null(e.Exception);
        });
    }

    [Fact]
    public async Task Metrics_CountVerdictsPerCheckCategoryAndAction()
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        var counts = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "LocalLlm" && instrument.Meter.Scope == meterFactory && instrument.Name == "localllm.guardrails.verdicts")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var t = tags.ToArray().ToDictionary(x => x.Key, x => x.Value as string);
            string key = $"{t["localllm.guardrails.stage"]}/{t["localllm.guardrails.check"]}/{t["localllm.guardrails.category"]}/{t["localllm.guardrails.action"]}";
            lock (counts)
                counts[key] = counts.GetValueOrDefault(key) + value;
        });
        listener.Start();
        var inner = new FakeChatClient { GetResponseAsyncCallback = (_, _, _) => Task.FromResult(FakeChatClient.Reply($"mail {Secret}")) };
        var client = new GuardrailsChatClient(inner, new GuardrailsOptions()
            .AddInputCheck(FakeCheck.RejectWord("bomb", "weapons", GuardrailCost.Cheap, name: "words"))
            .AddOutputCheck(new PiiCheck()), meterFactory: meterFactory);

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hello")]);
        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hello again")]);
        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "a bomb")]);

        Assert.Equal(2, counts["input/words/none/allow"]);
        Assert.Equal(1, counts["input/words/weapons/block"]);
        Assert.Equal(2, counts["output/pii/pii/redact"]);
        Assert.Equal(3, counts.Count);
    }

    [Fact]
    public async Task Metrics_StreamCountsEachFindingOnce()
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        long redactions = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meterFactory && instrument.Name == "localllm.guardrails.verdicts")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (tags.ToArray().Any(t => t.Key == "localllm.guardrails.action" && (string?)t.Value == "redact"))
                Interlocked.Add(ref redactions, value);
        });
        listener.Start();
        var inner = new FakeChatClient { GetStreamingResponseAsyncCallback = (_, _, ct) => FakeChatClient.Chunks(ct, [.. $"mail {Secret} please, it is the best way to reach me".Select(c => c.ToString())]) };
        var client = new GuardrailsChatClient(inner, new GuardrailsOptions { HoldbackCharacters = 30 }.AddOutputCheck(new PiiCheck()), meterFactory: meterFactory);

        await client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")]).ToChatResponseAsync();

        Assert.Equal(1, redactions);
    }
}
