using LocalLlm.Samples.SemanticKernel;
using LocalLlm.Samples.Tests.Chat;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

namespace LocalLlm.Samples.Tests.SemanticKernel;

/// <summary>Semantic Kernel over AddLocalLlm: the model calls a plugin function, the kernel invokes it, the model answers from its result.</summary>
public sealed class SemanticKernelTests
{
    [Fact]
    public async Task AskAsync_ModelCallsPlugin_KernelInvokesItAndAnswersFromResult()
    {
        var plugin = new WeatherPlugin();
        var kernel = LocalKernel.Create(DemoModel.GetOrCreate(), plugin);
        string toolName = LocalKernel.ToolName(kernel);
        string call = $"<tool_call>\n{{\"name\": \"{toolName}\", \"arguments\": {{\"city\": \"Paris\"}}}}\n</tool_call>";
        var history = new ChatHistory();

        string answer = await LocalKernel.AskAsync(kernel, history, "What is the weather in Paris? " + call);

        Assert.Equal(["Paris"], plugin.Calls);
        var functionCall = Assert.Single(history.SelectMany(m => m.Items).OfType<FunctionCallContent>());
        Assert.Equal(toolName, functionCall.FunctionName); // "weather_now": plugin and function, as advertised to the model
        var result = Assert.Single(history.SelectMany(m => m.Items).OfType<FunctionResultContent>());
        string resultText = Assert.IsType<string>(result.Result);
        Assert.StartsWith("Weather report for Paris", resultText, StringComparison.Ordinal);
        // The model's second turn repeats the last 64 tokens of what it read last: the rendered function result.
        string wrapped = $"<tool_response>\n{resultText}\n</tool_response>";
        Assert.Equal(wrapped[^DemoModel.EchoTokens..], answer);
    }

    [Fact]
    public async Task Sample_DemoModel_InvokesPluginAndExitsZero()
    {
        var run = await ChatSampleTests.RunDllAsync(ChatSampleTests.SampleDll("SemanticKernel", "LocalLlm.Samples.SemanticKernel.dll"), [], "");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("(Semantic Kernel invoked weather.now(city: \"Paris\"))", run.Output, StringComparison.Ordinal);
        Assert.Contains("model> ", run.Output, StringComparison.Ordinal);
    }
}
