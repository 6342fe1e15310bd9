using System.Text.Json.Nodes;
using LocalLlm.ModelForge;

namespace LocalLlm.Tests.Runtime;

/// <summary>
/// Bad folders and bad input end in a clear exception, never a native crash. Each case runs in a child process
/// (tests/BadInputProbe): if native code crashed, the child would die by a signal and the test would see it.
/// </summary>
public sealed class BadModelFolderTests : IDisposable
{
    private readonly TempDirectory _temp = new("localllm-badfolder");

    public void Dispose() => _temp.Dispose();

    private string CopyOfForgedModel()
    {
        string source = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy });
        string target = Path.Combine(_temp.Path, "model-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(target);
        foreach (string f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
        return target;
    }

    /// <summary>A copy of the forged model whose genai_config.json <paramref name="edit"/> has changed.</summary>
    private string CopyWithConfig(Action<JsonNode> edit)
    {
        string folder = CopyOfForgedModel();
        string config = Path.Combine(folder, "genai_config.json");
        var json = JsonNode.Parse(File.ReadAllText(config))!;
        edit(json);
        File.WriteAllText(config, json.ToJsonString());
        return folder;
    }

    [Fact]
    public async Task Load_MissingFolder_ThrowsNamingTheFolder()
    {
        string path = Path.Combine(_temp.Path, "nope");
        var e = Assert.Throws<ModelFolderException>(() => LocalModel.Load(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
        Assert.StartsWith("caught ModelFolderException", await RunProbeAsync("load", path), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_NoGenAiConfig_ThrowsNamingTheFileAndTheFix()
    {
        string folder = CopyOfForgedModel();
        File.Delete(Path.Combine(folder, "genai_config.json"));
        var e = Assert.Throws<ModelFolderException>(() => LocalModel.Load(folder));
        Assert.Contains("genai_config.json", e.Message, StringComparison.Ordinal);
        Assert.Contains("model builder", e.Message, StringComparison.Ordinal);
        Assert.StartsWith("caught ModelFolderException", await RunProbeAsync("load", folder), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_CorruptedModelOnnx_ThrowsOnnxRuntimeGenAIExceptionAndDoesNotCrash()
    {
        string folder = CopyOfForgedModel();
        var bytes = File.ReadAllBytes(Path.Combine(folder, "model.onnx"));
        new Random(7).NextBytes(bytes.AsSpan(bytes.Length / 3, bytes.Length / 3));
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), bytes);
        string result = await RunProbeAsync("load", folder);
        Assert.StartsWith("caught OnnxRuntimeGenAIException", result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_TokenizerIdsBeyondVocab_ThrowsNamingBothSizes()
    {
        string folder = CopyWithConfig(json => json["model"]!["vocab_size"] = 200); // the byte tokenizer has ids up to 260
        var e = Assert.Throws<ModelFolderException>(() => LocalModel.Load(folder));
        Assert.Contains("260", e.Message, StringComparison.Ordinal);
        Assert.Contains("vocab_size = 200", e.Message, StringComparison.Ordinal);
        Assert.StartsWith("caught ModelFolderException", await RunProbeAsync("load", folder), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ConfigMissingRequiredKey_ThrowsNamingTheKey()
    {
        string folder = CopyWithConfig(json => json["model"]!.AsObject().Remove("context_length"));
        var e = Assert.Throws<ModelFolderException>(() => LocalModel.Load(folder));
        Assert.Contains("context_length", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CudaExportOnAuto_WithoutCudaRuntime_ThrowsSayingWhatToInstall()
    {
        string folder = CopyWithConfig(json => json["model"]!["decoder"]!["session_options"] = new JsonObject { ["provider_options"] = new JsonArray(new JsonObject { ["cuda"] = new JsonObject() }) });
        var e = Assert.Throws<ExecutionProviderException>(() => LocalModel.Load(folder));
        Assert.Contains("LocalLlmRuntime=cuda", e.Message, StringComparison.Ordinal);
        Assert.Contains("CUDA export", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CudaRequested_WithoutCudaRuntime_ThrowsSayingWhatToInstall()
    {
        var e = Assert.Throws<ExecutionProviderException>(() =>
            LocalModel.Load(CopyOfForgedModel(), new LocalModelOptions { ExecutionProvider = ExecutionProvider.Cuda }));
        Assert.Contains("Microsoft.ML.OnnxRuntimeGenAI.Cuda", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Auto_OnCpuOnlyApp_ChoosesCpuAndSaysWhy()
    {
        using var model = LocalModel.Load(CopyOfForgedModel());
        Assert.Equal(ExecutionProvider.Cpu, model.Info.Provider);
        Assert.Contains("CUDA runtime package is not present", model.Info.ProviderReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decode_TokenOutsideVocabulary_ThrowsBeforeNativeCode()
    {
        using var model = LocalModel.Load(CopyOfForgedModel());
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Decode([65, 999_999]));
        Assert.Contains("999999", e.Message, StringComparison.Ordinal);
        Assert.Contains("vocab_size 261", e.Message, StringComparison.Ordinal);
        Assert.StartsWith("caught ArgumentOutOfRangeException", await RunProbeAsync("out-of-vocab", CopyOfForgedModel()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RawApi_TokenOutsideVocabulary_IsAnExceptionNotACrash()
    {
        // What we guard against: native code raises (it does not crash) on this machine; we check before it anyway.
        Assert.StartsWith("caught OnnxRuntimeGenAIException", await RunProbeAsync("raw-out-of-vocab", CopyOfForgedModel()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_OverlongPromptAndNaNTemperature_ThrowClearlyInAChildProcess()
    {
        string folder = CopyOfForgedModel();
        Assert.StartsWith("caught PromptLengthException", await RunProbeAsync("overlong", folder), StringComparison.Ordinal);
        Assert.StartsWith("caught ArgumentOutOfRangeException", await RunProbeAsync("nan-temperature", folder), StringComparison.Ordinal);
    }

    /// <summary>Runs the probe; fails the test if the child did not exit normally.</summary>
    internal static async Task<string> RunProbeAsync(string kind, string folder, params string[] more)
    {
        string probe = Path.Combine(AppContext.BaseDirectory.Replace(Path.Combine("Sdk.Tests", "bin"), Path.Combine("BadInputProbe", "bin"), StringComparison.Ordinal), "LocalLlm.BadInputProbe.dll");
        Assert.True(File.Exists(probe), $"probe not built at {probe}");
        var run = await ChildProcess.DotnetAsync([probe, kind, folder, .. more], TimeSpan.FromSeconds(more.Length > 0 ? 240 : 60));
        Assert.True(run.ExitCode == 0, $"the probe died with exit code {run.ExitCode}: {run.Error}");
        return run.Output.Trim();
    }
}
