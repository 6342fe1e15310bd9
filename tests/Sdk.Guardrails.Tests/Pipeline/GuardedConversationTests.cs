using System.Text.Json;
using LocalLlm.Guardrails.Pii;
using LocalLlm.Guardrails.Rules;
using LocalLlm.ModelForge;

namespace LocalLlm.Guardrails.Tests;

/// <summary>
/// Guardrails over a real LocalLlm client: the history kept under a conversation id is what the caller received, and
/// the inner stream's properties (stats) pass through the stage. The copy design echoes the user's text, which holds
/// an e-mail address.
/// </summary>
public sealed class GuardedConversationTests
{
    private const string Email = "jane.doe@example.com";
    private const string UserText = "Please reply to " + Email + " by Friday.";
    private const string Redacted = "Please reply to [EMAIL_ADDRESS] by Friday.";

    private static readonly string s_folder = ForgedModels.GetOrCreate(new ForgeOptions
    {
        Design = ModelDesign.Copy, Attention = AttentionKind.GroupQueryAttention, Lag = 13 + UserText.Length,
    });

    // Tokens of the prompt the model gets for this history, rendered by the model's own template (byte tokenizer).
    private static int PromptTokens(LocalModel model, params (string Role, string Text)[] history) =>
        model.Encode(model.ApplyChatTemplate(null, JsonSerializer.Serialize(history.Select(m => new { role = m.Role, content = m.Text })), null)).Length;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ConversationId_RedactedAnswer_NextTurnIsBuiltOnWhatTheCallerReceived(bool streaming)
    {
        using var model = LocalModel.Load(s_folder);
        using var client = new ChatClientBuilder(new LocalLlmChatClient(model)).UseGuardrails(g => g.AddOutputCheck(new PiiCheck())).Build();
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 64, ConversationId = "c-" + streaming };

        string first = streaming
            ? (await client.GetStreamingResponseAsync([new(ChatRole.User, UserText)], options).ToChatResponseAsync()).Text
            : (await client.GetResponseAsync([new(ChatRole.User, UserText)], options)).Text;
        var second = await client.GetResponseAsync([new(ChatRole.User, "Thanks.")], options);

        Assert.Equal(Redacted, first);
        Assert.Equal(PromptTokens(model, ("user", UserText), ("assistant", Redacted), ("user", "Thanks.")), second.Usage!.InputTokenCount);
        Assert.NotEqual(PromptTokens(model, ("user", UserText), ("assistant", UserText), ("user", "Thanks.")), second.Usage!.InputTokenCount);
    }

    [Fact]
    public async Task ConversationId_BlockedStream_NextTurnHoldsTheFallbackNotTheBlockedText()
    {
        using var model = LocalModel.Load(s_folder);
        using var client = new ChatClientBuilder(new LocalLlmChatClient(model)).UseGuardrails(g =>
        {
            g.AddOutputCheck(new RegexCheck(["Friday"], "leak"));
            g.HoldbackCharacters = 8;
        }).Build();
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 64, ConversationId = "blocked" };

        var first = await client.GetStreamingResponseAsync([new(ChatRole.User, UserText)], options).ToChatResponseAsync();
        var second = await client.GetResponseAsync([new(ChatRole.User, "Thanks.")], options);

        Assert.Equal(ChatFinishReason.ContentFilter, first.FinishReason);
        Assert.DoesNotContain("Friday", first.Text, StringComparison.Ordinal);
        Assert.Equal(PromptTokens(model, ("user", UserText), ("assistant", first.Text), ("user", "Thanks.")), second.Usage!.InputTokenCount);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_GuardedRealModel_StatsAndUsagePassThrough()
    {
        using var model = LocalModel.Load(s_folder);
        using var client = new ChatClientBuilder(new LocalLlmChatClient(model)).UseGuardrails(g => g.AddOutputCheck(new PiiCheck())).Build();

        var updates = await client.GetStreamingResponseAsync([new(ChatRole.User, UserText)], new ChatOptions { Temperature = 0, MaxOutputTokens = 64 }).ToListAsync();

        var stats = updates.Select(u => u.GetGenerationStats()).LastOrDefault(s => s is not null);
        Assert.NotNull(stats);
        Assert.Equal(UserText.Length + 1, stats.OutputTokens); // one byte token each, then the end token
        Assert.Contains(updates.SelectMany(u => u.Contents), c => c is UsageContent);
    }
}
