using System.Text.Json.Nodes;
using LocalLlm.ModelForge;

namespace LocalLlm.Tests.Sampling;

/// <summary>
/// What an unset option means (README, "How ChatOptions map"): Temperature unset with no TopP/TopK is greedy, whatever the
/// folder says; TopK, TopP and the repetition penalty unset take the model folder's genai_config "search" values (the
/// publisher's defaults, as ORT GenAI does); a value in the request always wins. Measured on the fixed-distribution
/// model, whose every next token is drawn from the same known distribution over 'a'…'p'.
/// </summary>
public sealed class UnsetSamplingOptionsTests : IDisposable
{
    private static readonly ChatMessage[] s_prompt = [new(ChatRole.User, "zz")];
    private readonly TempDirectory _temp = new("localllm-unset");

    public void Dispose() => _temp.Dispose();

    /// <summary>A copy of the fixed-distribution folder whose genai_config search section is edited.</summary>
    /// <remarks>With GroupQueryAttention the requests run in the batching engine (the default), which samples itself.</remarks>
    private LocalModel FolderWithSearch(Action<JsonObject> edit, AttentionKind attention = AttentionKind.Plain)
    {
        string source = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.FixedDistribution, Attention = attention });
        string target = Path.Combine(_temp.Path, Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(target);
        foreach (string f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
        string config = Path.Combine(target, "genai_config.json");
        var json = JsonNode.Parse(File.ReadAllText(config))!;
        edit(json["search"]!.AsObject());
        File.WriteAllText(config, json.ToJsonString());
        return LocalModel.Load(target);
    }

    private static async Task<HashSet<char>> Letters(LocalModel model, ChatOptions options)
    {
        using var client = new LocalLlmChatClient(model);
        return [.. (await client.GetResponseAsync(s_prompt, options)).Text];
    }

    [Theory]
    [InlineData(AttentionKind.Plain)]
    [InlineData(AttentionKind.GroupQueryAttention)]
    public async Task TopKUnset_TakesTheFoldersTopK_ASetTopKWins(AttentionKind attention)
    {
        using var model = FolderWithSearch(s => s["top_k"] = 3, attention);

        var unset = await Letters(model, new ChatOptions { MaxOutputTokens = 300, Temperature = 5f, Seed = 3 });
        var set = await Letters(model, new ChatOptions { MaxOutputTokens = 300, Temperature = 5f, Seed = 3, TopK = 8 });

        Assert.Equal(['a', 'b', 'c'], unset.Order());
        Assert.True(set.Count > 3, $"TopK = 8 should reach past the folder's top_k 3; saw {string.Concat(set.Order())}");
    }

    [Theory]
    [InlineData(AttentionKind.Plain)]
    [InlineData(AttentionKind.GroupQueryAttention)]
    public async Task TemperatureUnset_IsGreedyEvenWhenTheFolderSaysDoSample(AttentionKind attention)
    {
        using var model = FolderWithSearch(s => { s["do_sample"] = true; s["temperature"] = 5.0; }, attention);

        var letters = await Letters(model, new ChatOptions { MaxOutputTokens = 200, Seed = 3 });

        Assert.Single(letters); // greedy repeats the most likely token
    }
}
