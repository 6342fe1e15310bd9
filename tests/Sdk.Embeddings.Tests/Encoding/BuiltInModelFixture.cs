namespace LocalLlm.Embeddings.Tests;

/// <summary>One built-in generator for a test class (loading the 87 MB model takes about a second).</summary>
public sealed class BuiltInModelFixture : IDisposable
{
    public LocalEmbeddingGenerator Generator { get; } = new();

    public void Dispose() => Generator.Dispose();
}
