using LocalLlm.Embeddings;
using LocalLlm.Guardrails.Attacks;

namespace LocalLlm.Guardrails.Tests;

/// <summary>One real all-MiniLM-L6-v2 encoder for the class (loading it takes about a second).</summary>
public sealed class EncoderFixture : IDisposable
{
    public LocalEmbeddingGenerator Encoder { get; } = new();

    public void Dispose() => Encoder.Dispose();
}

public sealed class PromptAttackEncoderTests(EncoderFixture fixture) : IClassFixture<EncoderFixture>
{
    [Fact]
    public void Shipped_LoadsForTheBuiltInEncoder()
    {
        var c = PromptAttackEncoderClassifier.Shipped;
        Assert.Equal("all-MiniLM-L6-v2", c.ModelId);
        Assert.Equal(384, c.Dimensions);
        Assert.InRange(c.Threshold, 0.0, 1.0);
    }

    [Theory]
    [MemberData(nameof(AttackTexts.Labelled), MemberType = typeof(AttackTexts))]
    public async Task Check_WithEncoder_DecidesByTheEncoderClassifier(string text, bool attack)
    {
        Assert.Null(PromptAttackHeuristics.Match(text)); // the classifier decides, not a rule
        var check = new PromptAttackCheck(fixture.Encoder);
        Assert.True(check.UsesEncoder);

        var verdict = await check.CheckAsync(new GuardrailContext(GuardrailStage.Input, text));

        Assert.Equal(attack ? GuardrailVerdictKind.Reject : GuardrailVerdictKind.Allow, verdict.Kind);
        if (attack)
            Assert.StartsWith("Classifier probability", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pipeline_PoisonedToolResult_IsBlockedBeforeTheModel()
    {
        var inner = new FakeChatClient();
        var client = new ChatClientBuilder(inner).UseGuardrails(g => g.AddInputCheck(new PromptAttackCheck(fixture.Encoder))).Build();
        List<ChatMessage> Turn(string email) =>
        [
            new(ChatRole.User, "Summarise my latest e-mail."),
            new(ChatRole.Assistant, [new FunctionCallContent("c1", "read_inbox")]),
            new(ChatRole.Tool, [new FunctionResultContent("c1", email)]),
        ];

        var blocked = await client.GetResponseAsync(Turn(AttackTexts.PoisonedEmail));
        var answered = await client.GetResponseAsync(Turn(AttackTexts.CleanEmail));

        Assert.Equal(ChatFinishReason.ContentFilter, blocked.FinishReason);
        Assert.Equal("ok", answered.Text);
        Assert.Equal(1, inner.Calls);
    }

    [Fact]
    public void Constructor_OtherEncoder_NamesTheModelAndTheFix()
    {
        using var other = new MetadataOnlyGenerator(new EmbeddingGeneratorMetadata("x", null, "bge-small-en", 384));
        var e = Assert.Throws<ArgumentException>("encoder", () => new PromptAttackCheck(other));
        Assert.Contains("bge-small-en", e.Message, StringComparison.Ordinal);
        Assert.Contains("AddLocalLlmEmbeddings", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>("encoder", () => new PromptAttackCheck((IEmbeddingGenerator<string, Embedding<float>>)null!));
        Assert.Throws<ArgumentOutOfRangeException>("threshold", () => new PromptAttackCheck(fixture.Encoder, threshold: -0.1));
    }

    [Fact]
    public void Windows_LongText_WholeWindowThenBoundedChunks()
    {
        string sentence = "This sentence is part of a long document about nothing in particular. ";
        var windows = PromptAttackEncoderClassifier.Windows(string.Concat(Enumerable.Repeat(sentence, 200)));
        Assert.Equal(1 + PromptAttackEncoderClassifier.MaxChunks, windows.Count);
        Assert.Equal(PromptAttackEncoderClassifier.HeadCharacters + 3 + PromptAttackEncoderClassifier.TailCharacters, windows[0].Length);
        Assert.All(windows.Skip(1), w => Assert.InRange(w.Length, 1, PromptAttackEncoderClassifier.ChunkCharacters));
        Assert.Equal(["short text"], PromptAttackEncoderClassifier.Windows("  short \n text "));
    }

    /// <summary>A generator that only reports metadata (the check must refuse it before embedding anything).</summary>
    private sealed class MetadataOnlyGenerator(EmbeddingGeneratorMetadata metadata) : IEmbeddingGenerator<string, Embedding<float>>
    {
        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("not called");

        public object? GetService(Type serviceType, object? serviceKey = null) => serviceType == typeof(EmbeddingGeneratorMetadata) ? metadata : null;

        public void Dispose()
        {
        }
    }
}
