using System.Text.Json;
using LocalLlm.Guardrails.Tests;
using Microsoft.Extensions.Logging;

namespace LocalLlm.Embeddings.Tests;

public sealed class LocalEmbeddingGeneratorTests(BuiltInModelFixture fixture) : IClassFixture<BuiltInModelFixture>
{
    private readonly LocalEmbeddingGenerator _generator = fixture.Generator;

    private static (string Text, float[] Vector)[] Reference()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reference", "all-MiniLM-L6-v2.reference.json")));
        return doc.RootElement.GetProperty("rows").EnumerateArray()
            .Select(r => (r.GetProperty("text").GetString()!, r.GetProperty("vector").EnumerateArray().Select(v => v.GetSingle()).ToArray()))
            .ToArray();
    }

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    [Fact]
    public async Task GenerateAsync_BuiltInModel_MatchesReferenceVectors()
    {
        var reference = Reference();
        Assert.True(reference.Length >= 5);
        // Together (one padded batch) and one at a time (no padding): both must match the independent reference.
        var together = await _generator.GenerateAsync(reference.Select(r => r.Text));
        for (int i = 0; i < reference.Length; i++)
        {
            var alone = await _generator.GenerateAsync([reference[i].Text]);
            Assert.Equal(384, reference[i].Vector.Length);
            Assert.True(Cosine(together[i].Vector.Span, reference[i].Vector) >= 0.999, $"row {i} batched: {Cosine(together[i].Vector.Span, reference[i].Vector)}");
            Assert.True(Cosine(alone[0].Vector.Span, reference[i].Vector) >= 0.999, $"row {i} alone: {Cosine(alone[0].Vector.Span, reference[i].Vector)}");
        }
    }

    [Fact]
    public async Task GenerateAsync_Vectors_AreUnitLengthAndDescribed()
    {
        var result = await _generator.GenerateAsync(["one", "", "a somewhat longer sentence about nothing in particular"]);
        Assert.Equal(3, result.Count);
        foreach (var e in result)
        {
            Assert.Equal(384, e.Vector.Length);
            Assert.Equal(1.0, Math.Sqrt(e.Vector.ToArray().Sum(v => (double)v * v)), 4);
            Assert.Equal("all-MiniLM-L6-v2", e.ModelId);
            Assert.Null(e.AdditionalProperties);
        }
        Assert.Null(result.AdditionalProperties);
        Assert.True(result.Usage?.InputTokenCount >= 3 + 2 + 10);
        var meta = _generator.GetService<EmbeddingGeneratorMetadata>();
        Assert.Equal(("LocalLlm", "all-MiniLM-L6-v2", 384), (meta!.ProviderName, meta.DefaultModelId, meta.DefaultModelDimensions));
    }

    [Fact]
    public async Task GenerateAsync_SimilarMeaning_ScoresHigherThanUnrelated()
    {
        var r = await _generator.GenerateAsync(["How do I reset my password?", "I forgot my login password, how can I change it?", "The recipe needs two cups of flour."]);
        double similar = Cosine(r[0].Vector.Span, r[1].Vector.Span), unrelated = Cosine(r[0].Vector.Span, r[2].Vector.Span);
        Assert.True(similar > 0.5 && unrelated < 0.2, $"similar {similar}, unrelated {unrelated}");
    }

    [Fact]
    public async Task GenerateAsync_ManyInputs_KeepsOrderAcrossBatches()
    {
        // 70 inputs of varied lengths: three batches, sorted by length inside; each result must be its own input's.
        string[] texts = Enumerable.Range(0, 70).Select(i => string.Join(' ', Enumerable.Repeat($"word{i % 7}", 1 + (i * 13 % 40)))).ToArray();
        var all = await _generator.GenerateAsync(texts);
        foreach (int i in new[] { 0, 33, 69 })
        {
            var alone = await _generator.GenerateAsync([texts[i]]);
            Assert.True(Cosine(all[i].Vector.Span, alone[0].Vector.Span) > 0.99999);
        }
    }

    [Fact]
    public async Task GenerateAsync_LongInput_IsCutAndSaysSo()
    {
        using var logs = new FakeLogCollector();
        using var small = new LocalEmbeddingGenerator(new LocalEmbeddingOptions { MaxTokens = 16 }, logs.CreateLogger<LocalEmbeddingGenerator>());
        string longText = string.Join(' ', Enumerable.Repeat("alpha beta gamma", 20));
        string head = "alpha beta gamma alpha beta gamma alpha beta gamma alpha beta gamma alpha beta";  // 14 tokens: what fits
        var r = await small.GenerateAsync([longText, "short"]);
        Assert.Equal(true, r[0].AdditionalProperties?[LocalEmbeddingGenerator.TruncatedPropertyName]);
        Assert.Null(r[1].AdditionalProperties);
        Assert.Equal(1, r.AdditionalProperties?[LocalEmbeddingGenerator.TruncatedPropertyName]);
        Assert.Equal(16 + 3, r.Usage?.InputTokenCount);
        var cut = await small.GenerateAsync([head]);
        Assert.True(Cosine(r[0].Vector.Span, cut[0].Vector.Span) > 0.99999, "the cut input reads only its first 14 tokens");
        Assert.Contains(logs.Entries, e => e.Id.Id == 1602 && e.Level == LogLevel.Warning && e.Message.Contains("1 of 2 inputs", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("alpha", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GenerateAsync_BadArguments_ThrowClearErrors()
    {
        await Assert.ThrowsAsync<ArgumentNullException>("values", () => _generator.GenerateAsync(null!));
        var nullItem = await Assert.ThrowsAsync<ArgumentNullException>("values", () => _generator.GenerateAsync(["a", null!]));
        Assert.Contains("Input 1 is null", nullItem.Message, StringComparison.Ordinal);
        var dims = await Assert.ThrowsAsync<ArgumentException>("options", () => _generator.GenerateAsync(["a"], new EmbeddingGenerationOptions { Dimensions = 768 }));
        Assert.Contains("384", dims.Message, StringComparison.Ordinal);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _generator.GenerateAsync(["a"], cancellationToken: cts.Token));
    }

    [Fact]
    public void Constructor_FolderWithoutModel_NamesTheMissingFile()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<FileNotFoundException>(() => new LocalEmbeddingGenerator(new LocalEmbeddingOptions { ModelPath = dir.Path }));
        Assert.Contains("has no model.onnx", e.Message, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(dir.Path, "model.onnx"), "not a model");
        e = Assert.Throws<FileNotFoundException>(() => new LocalEmbeddingGenerator(new LocalEmbeddingOptions { ModelPath = dir.Path }));
        Assert.Contains("has no vocab.txt", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LocalEmbeddingGenerator(new LocalEmbeddingOptions { MaxTokens = 2 }));
    }

    [Fact]
    public async Task Dispose_Twice_IsSafeAndLaterCallsThrow()
    {
        var g = new LocalEmbeddingGenerator();
        g.Dispose();
        g.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => g.GenerateAsync(["a"]));
    }
}
