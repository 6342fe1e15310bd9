using LocalLlm.ModelForge;

namespace LocalLlm.Tests.Chat;

/// <summary>
/// LoRA adapters per request (LocalLlmChatClientOptions.Adapters + WithAdapter). The copy design forged with LoRA
/// inputs replies with the last n bytes of the user's text when its lag is the 13 template tokens + n; the adapters
/// ModelForge writes change the lag, so every answer is known exactly: base "world" (5), "short" "rld" (3), "long"
/// "o world" (7), each followed by the copied end token.
/// </summary>
public sealed class AdapterTests : IDisposable
{
    private const int TemplateTail = 13;
    private const string Text = "Say hello world";

    private readonly string _temp = Directory.CreateTempSubdirectory("localllm-adapters-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static ForgeOptions Forged(AttentionKind attention = AttentionKind.Plain) =>
        new() { Design = ModelDesign.Copy, Lag = TemplateTail + 5, LoraRank = 1, Attention = attention };

    private LocalLlmChatClientOptions WithAdapters(ForgeOptions forged, LocalLlmChatClientOptions? options = null)
    {
        options ??= new LocalLlmChatClientOptions();
        foreach (var (name, reply) in new[] { ("short", 3), ("long", 7) })
        {
            string path = Path.Combine(_temp, $"{forged.Attention}-{name}.onnx_adapter");
            if (!File.Exists(path)) Forge.WriteCopyAdapter(forged, TemplateTail + reply, path);
            options.Adapters[name] = path;
        }
        return options;
    }

    private static LocalModel Load(ForgeOptions forged) =>
        LocalModel.Load(ForgedModels.GetOrCreate(forged), new LocalModelOptions { ExecutionProvider = ExecutionProvider.Cpu });

    private static ChatMessage[] Ask(string text = Text) => [new(ChatRole.User, text)];

    private static ChatOptions Greedy(string? adapter = null)
    {
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 20 };
        return adapter is null ? options : options.WithAdapter(adapter);
    }

    [Fact]
    public async Task GetResponseAsync_AdapterOnOffAndSwitch_AnswersExactlyAtEachAdaptersLag()
    {
        var forged = Forged();
        using var model = Load(forged);
        using var client = new LocalLlmChatClient(model, WithAdapters(forged));

        Assert.Equal("world", (await client.GetResponseAsync(Ask(), Greedy())).Text);
        Assert.Equal("rld", (await client.GetResponseAsync(Ask(), Greedy("short"))).Text);
        Assert.Equal("o world", (await client.GetResponseAsync(Ask(), Greedy("long"))).Text);
        Assert.Equal("rld", (await client.GetResponseAsync(Ask(), Greedy("short"))).Text);
        Assert.Equal("world", (await client.GetResponseAsync(Ask(), Greedy())).Text);
        var streamed = await client.GetStreamingResponseAsync(Ask(), Greedy("long")).ToListAsync();
        Assert.Equal("o world", string.Concat(streamed.Select(u => u.Text)));
        Assert.Equal(ChatFinishReason.Stop, streamed[^1].FinishReason);
    }

    [Fact]
    public async Task GetResponseAsync_KvReuseAcrossTurns_ReusesOnlyUnderTheSameAdapter()
    {
        var forged = Forged();
        using var model = Load(forged);
        using var client = new LocalLlmChatClient(model, WithAdapters(forged));
        var history = new List<ChatMessage>(Ask("First, the sea"));

        var first = await client.GetResponseAsync(history, Greedy("short"));
        Assert.Equal("sea", first.Text);
        history.AddRange(first.Messages);
        history.Add(new ChatMessage(ChatRole.User, "Then the ships"));

        var same = await client.GetResponseAsync(history, Greedy("short"));
        Assert.Equal("ips", same.Text);
        Assert.True(same.Usage!.CachedInputTokenCount > 20, $"the first turn's prefix is reused under the same adapter (cached {same.Usage.CachedInputTokenCount})");

        // The same history under another adapter, and under none: a prefix computed under "short" is never reused.
        var other = await client.GetResponseAsync(history, Greedy("long"));
        Assert.Equal("e ships", other.Text);
        Assert.Equal(0, other.Usage!.CachedInputTokenCount);
        var none = await client.GetResponseAsync(history, Greedy());
        Assert.Equal("ships", none.Text);
        Assert.Equal(0, none.Usage!.CachedInputTokenCount);

        // Each adapter's own generator is still cached: the next turns under "short" and "long" reuse their own.
        history.AddRange(same.Messages);
        history.Add(new ChatMessage(ChatRole.User, "And the harbour"));
        var third = await client.GetResponseAsync(history, Greedy("short"));
        Assert.Equal("our", third.Text);
        Assert.True(third.Usage!.CachedInputTokenCount > 40, $"cached {third.Usage.CachedInputTokenCount}");
    }

    [Theory]
    [InlineData(AttentionKind.Plain, BatchingMode.Off)]
    [InlineData(AttentionKind.GroupQueryAttention, BatchingMode.Auto)]
    public async Task GetResponseAsync_ConcurrentRequestsWithDifferentAdapters_EachExact(AttentionKind attention, BatchingMode batching)
    {
        var forged = Forged(attention);
        using var model = Load(forged);
        using var client = new LocalLlmChatClient(model, WithAdapters(forged, new LocalLlmChatClientOptions { MaxConcurrentRequests = 3, Batching = batching }));

        for (int round = 0; round < 3; round++)
        {
            var answers = await Task.WhenAll(
                client.GetResponseAsync(Ask(), Greedy("short")),
                client.GetResponseAsync(Ask(), Greedy("long")),
                client.GetResponseAsync(Ask(), Greedy()));
            Assert.Equal(["rld", "o world", "world"], answers.Select(a => a.Text));
        }
    }

    [Fact]
    public async Task GetResponseAsync_AdapterWithBeamsAndCandidates_AnswersAtTheAdaptersLag()
    {
        var forged = Forged();
        using var model = Load(forged);
        using var client = new LocalLlmChatClient(model, WithAdapters(forged));

        var beams = await client.GetResponseAsync(Ask(), Greedy("short").WithNumBeams(2));
        Assert.Equal("rld", beams.Messages[0].Text);
        var candidates = await client.GetResponseAsync(Ask(), new ChatOptions { Temperature = 0.01f, Seed = 1, MaxOutputTokens = 20 }.WithAdapter("long").WithCandidateCount(2));
        Assert.All(candidates.Messages, m => Assert.Equal("o world", m.Text));
    }

    [Fact]
    public async Task GetResponseAsync_UnknownAdapter_ThrowsListingTheKnownOnes()
    {
        var forged = Forged();
        using var model = Load(forged);
        using var client = new LocalLlmChatClient(model, WithAdapters(forged));
        using var plain = new LocalLlmChatClient(model);

        var e = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(Ask(), Greedy("sql")));
        Assert.Equal(LocalLlmOptionKeys.Adapter, e.ParamName);
        Assert.Contains($"Unknown adapter 'sql' for model '{model.Info.Id}': use one of long, short", e.Message, StringComparison.Ordinal);
        var none = await Assert.ThrowsAsync<ArgumentException>(async () => await plain.GetStreamingResponseAsync(Ask(), Greedy("short")).ToListAsync());
        Assert.Contains("this client has none: add it to LocalLlmChatClientOptions.Adapters", none.Message, StringComparison.Ordinal);
        var bad = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(Ask(), new ChatOptions { AdditionalProperties = new() { [LocalLlmOptionKeys.Adapter] = 7 } }));
        Assert.Equal(LocalLlmOptionKeys.Adapter, bad.ParamName);
        Assert.Equal("world", (await client.GetResponseAsync(Ask(), Greedy())).Text);
    }

    [Fact]
    public void Constructor_BadAdapterFile_ThrowsNamingTheAdapterAndTheFix()
    {
        var forged = Forged();
        using var model = Load(forged);
        string notAdapter = Path.Combine(_temp, "notes.onnx_adapter");
        File.WriteAllText(notAdapter, "not a flatbuffer at all");

        var missing = Assert.Throws<ArgumentException>(() => new LocalLlmChatClient(model, new LocalLlmChatClientOptions { Adapters = { ["sql"] = Path.Combine(_temp, "nope.onnx_adapter") } }));
        Assert.Contains("adapter 'sql' names", missing.Message, StringComparison.Ordinal);
        Assert.Contains("which does not exist", missing.Message, StringComparison.Ordinal);
        var wrong = Assert.Throws<ArgumentException>(() => new LocalLlmChatClient(model, new LocalLlmChatClientOptions { Adapters = { ["sql"] = notAdapter } }));
        Assert.Contains("is not an ONNX Runtime adapter", wrong.Message, StringComparison.Ordinal);
        var name = Assert.Throws<ArgumentException>(() => new LocalLlmChatClient(model, new LocalLlmChatClientOptions { Adapters = { ["my adapter"] = notAdapter } }));
        Assert.Equal(nameof(LocalLlmChatClientOptions.Adapters), name.ParamName);

        // The same name bound to another file in the same model is refused; the same file again is shared.
        var options = WithAdapters(forged);
        using var first = new LocalLlmChatClient(model, options);
        using var second = new LocalLlmChatClient(model, WithAdapters(forged));
        var rebound = Assert.Throws<ArgumentException>(() => new LocalLlmChatClient(model, new LocalLlmChatClientOptions { Adapters = { ["short"] = options.Adapters["long"] } }));
        Assert.Contains("adapter 'short' is already loaded", rebound.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Constructor_AdapterForAnotherModel_ThrowsAtLoadWithTheNativeReason()
    {
        var forged = Forged();
        using var model = Load(forged);
        string rank2 = Path.Combine(_temp, "rank2.onnx_adapter");
        Forge.WriteCopyAdapter(forged with { LoraRank = 2 }, TemplateTail + 3, rank2);
        string twoLayers = Path.Combine(_temp, "two-layers.onnx_adapter");
        Forge.WriteRandomAdapter(new ForgeOptions { Design = ModelDesign.Random, LoraRank = 1 }, 1, twoLayers);

        var shape = Assert.Throws<ArgumentException>(() => new LocalLlmChatClient(model, new LocalLlmChatClientOptions { Adapters = { ["rank2"] = rank2 } }));
        Assert.Contains("adapter 'rank2'", shape.Message, StringComparison.Ordinal);
        Assert.Contains("does not fit this model: Got invalid dimensions for input: model.layers.0.attn.q_proj.lora_B", shape.Message, StringComparison.Ordinal);
        var names = Assert.Throws<ArgumentException>(() => new LocalLlmChatClient(model, new LocalLlmChatClientOptions { Adapters = { ["other"] = twoLayers } }));
        Assert.Contains("does not fit this model: Invalid input name: model.layers.1.attn.q_proj", names.Message, StringComparison.Ordinal);
        Assert.Contains("Export the adapter for this model", names.Message, StringComparison.Ordinal);

        // A refused adapter is unloaded: its name can be bound to the right file, and the model still answers.
        using var client = new LocalLlmChatClient(model, WithAdapters(forged, new LocalLlmChatClientOptions { Adapters = { ["rank2"] = Path.Combine(_temp, "Plain-short.onnx_adapter") } }));
        Assert.Equal("rld", (await client.GetResponseAsync(Ask(), Greedy("rank2"))).Text);
        Assert.Equal("world", (await client.GetResponseAsync(Ask(), Greedy())).Text);
    }
}
