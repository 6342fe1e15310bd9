using LocalLlm.Guardrails.Pii;
using LocalLlm.ModelForge;

namespace LocalLlm.Guardrails.Tests;

/// <summary>
/// The output guard on a real ONNX Runtime GenAI model: the copy design echoes the end of the user's message, which
/// holds an e-mail address, one byte-level token at a time. The raw address must never reach the caller.
/// </summary>
public sealed class RealModelRedactionTests
{
    private const string Email = "jane.doe@example.com";
    private const string UserText = "Please reply to " + Email + " by Friday.";

    // Lag = 13 + n echoes the last n tokens of the user's text (one byte each), then the copied <|im_end|> stops it.
    private static readonly string s_folder = ForgedModels.GetOrCreate(new ForgeOptions
    {
        Design = ModelDesign.Copy, Attention = AttentionKind.GroupQueryAttention, Lag = 13 + UserText.Length,
    });

    private static readonly ChatOptions s_greedy = new() { Temperature = 0, MaxOutputTokens = 128 };

    private static IChatClient Guarded(LocalModel model) =>
        new ChatClientBuilder(new LocalLlmChatClient(model)).UseGuardrails(g => g.AddOutputCheck(new PiiCheck())).Build();

    [Fact]
    public async Task GetStreamingResponseAsync_ModelEchoesAnEmail_EveryUpdateIsRedacted()
    {
        using var model = LocalModel.Load(s_folder);
        using var unguarded = new LocalLlmChatClient(model);
        using var client = Guarded(model);

        // Unguarded, the model really streams the address, token by token.
        var raw = new List<string>();
        await foreach (var update in unguarded.GetStreamingResponseAsync([new(ChatRole.User, UserText)], s_greedy))
            raw.Add(update.Text);
        Assert.Equal(UserText, string.Concat(raw));
        Assert.True(raw.Count >= UserText.Length / 2, $"the model streamed {raw.Count} updates; expected token-sized pieces");

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync([new(ChatRole.User, UserText)], s_greedy))
            updates.Add(update);

        string all = string.Concat(updates.Select(u => u.Text));
        var last = updates[^1].AdditionalProperties;
        Assert.True(all == "Please reply to [EMAIL_ADDRESS] by Friday.",
            $"got '{all}' (check {last?.GetValueOrDefault(GuardrailsPropertyNames.Check)}, category {last?.GetValueOrDefault(GuardrailsPropertyNames.Category)})");
        Assert.All(updates, u => Assert.DoesNotContain("@", u.Text, StringComparison.Ordinal));
        Assert.All(updates, u => Assert.DoesNotContain("jane", u.Text, StringComparison.Ordinal));
        Assert.Equal(ChatFinishReason.Stop, updates.Last(u => u.FinishReason is not null).FinishReason);
    }

    [Fact]
    public async Task GetResponseAsync_ModelEchoesAnEmail_AnswerIsRedacted()
    {
        using var model = LocalModel.Load(s_folder);
        using var client = Guarded(model);

        var response = await client.GetResponseAsync([new(ChatRole.User, UserText)], s_greedy);

        Assert.Equal("Please reply to [EMAIL_ADDRESS] by Friday.", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }
}
