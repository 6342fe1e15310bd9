using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using LocalLlm.ModelForge;
using OpenAI.Chat;

namespace LocalLlm.Samples.Tests.WebChat;

/// <summary>A server that generates one request at a time and queues two more: a copy model with lag 4 repeats "ant\n" until max_tokens, so requests stay busy.</summary>
public sealed class BusyWebChatServer() : WebChatServer(
[
    "--LocalLlm:ModelPath=" + ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Lag = 4 }),
    "--LocalLlm:MaxConcurrentRequests=1",
    "--LocalLlm:MaxQueueLength=2",
]);

public sealed class BusyServerTests(BusyWebChatServer server) : IClassFixture<BusyWebChatServer>
{
    [Fact]
    public async Task ParallelClients_QueueFull_ExtraOnesGet429AndServerRecovers()
    {
        const int clients = 8, admitted = 3; // 1 generating + 2 queued
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 1500 }; // seconds of work each
        var firstUpdates = Enumerable.Range(0, clients).Select(async i =>
        {
            var stream = server.OpenAIChat().CompleteChatStreamingAsync([new UserChatMessage($"client {i}: keep talking")], options, stop.Token);
            await using var e = stream.GetAsyncEnumerator(stop.Token);
            await e.MoveNextAsync(); // throws for a refused request; a queued one waits here
            await Task.Delay(Timeout.Infinite, stop.Token); // hold the slot until the test ends it
        }).ToList();

        // The refused ones fail at once with 429; the admitted ones keep their slots.
        var deadline = Task.Delay(TimeSpan.FromSeconds(30));
        while (firstUpdates.Count(t => t.IsFaulted) < clients - admitted && !deadline.IsCompleted)
            await Task.WhenAny(Task.WhenAny(firstUpdates.Where(t => !t.IsCompleted)), deadline);
        await Task.Delay(200); // no admitted one may fail afterwards either

        var refused = firstUpdates.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException).ToList();
        Assert.Equal(clients - admitted, refused.Count);
        Assert.All(refused, e => Assert.Equal(429, Assert.IsType<ClientResultException>(e).Status));
        Assert.Contains("busy", refused[0]!.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(admitted, firstUpdates.Count(t => !t.IsCompleted));

        // The raw refusal: the scheduler's ServerBusyException as OpenAI's error body, with Retry-After.
        string body = JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = "one more" } } });
        using (var busy = await server.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, busy.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), busy.Headers.RetryAfter?.Delta);
            var error = JsonDocument.Parse(await busy.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("rate_limit_exceeded", error.GetProperty("type").GetString());
            Assert.Equal("server_busy", error.GetProperty("code").GetString());
            Assert.Contains("MaxQueueLength", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        // Disconnecting the clients cancels their generations and frees the slots.
        await stop.CancelAsync();
        await Task.WhenAll(firstUpdates.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        var recovered = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                ChatCompletion done = await server.OpenAIChat().CompleteChatAsync([new UserChatMessage("after the rush")], new ChatCompletionOptions { MaxOutputTokenCount = 8 });
                Assert.Equal("ant\nant\n", done.Content[0].Text);
                break;
            }
            catch (ClientResultException e) when (e.Status == 429 && DateTime.UtcNow < recovered)
            {
                await Task.Delay(100);
            }
        }
    }
}
