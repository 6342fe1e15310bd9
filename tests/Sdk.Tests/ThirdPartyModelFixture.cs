namespace LocalLlm.Tests;

/// <summary>The third-party tiny Llama (random weights, fp16, Llama-2 chat template), loaded once per test class.</summary>
public sealed class ThirdPartyModelFixture : IDisposable
{
    public static string Folder => RepoPaths.SharedModel("tiny-random-llama-fp16");

    public LocalModel Model { get; } = LocalModel.Load(Folder, new LocalModelOptions { ExecutionProvider = ExecutionProvider.Cpu });

    public void Dispose() => Model.Dispose();
}
