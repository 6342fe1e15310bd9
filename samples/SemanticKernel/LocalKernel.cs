using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

namespace LocalLlm.Samples.SemanticKernel;

/// <summary>A Semantic Kernel over the same <c>AddLocalLlm</c> registration an app uses, with the weather plugin.</summary>
public static class LocalKernel
{
    /// <summary>The plugin name the weather functions are registered under.</summary>
    public const string PluginName = "weather";

    /// <summary>
    /// Builds the kernel: <c>AddLocalLlm</c> registers the local model as the <see cref="IChatClient"/>, and
    /// <c>UseKernelFunctionInvocation</c> lets Semantic Kernel run the functions the model calls.
    /// </summary>
    /// <param name="model">A catalog id (downloaded on first use) or a model folder: <c>LocalLlmOptions.Model</c>.</param>
    /// <param name="plugin">The weather plugin.</param>
    public static Kernel Create(string model, WeatherPlugin plugin)
    {
        ArgumentNullException.ThrowIfNull(plugin);
        var builder = Kernel.CreateBuilder();
        builder.Services.AddLocalLlm(o => o.Model = model).UseKernelFunctionInvocation();
        builder.Plugins.AddFromObject(plugin, PluginName);
        return builder.Build();
    }

    /// <summary>The kernel's chat completion service: the local <see cref="IChatClient"/> seen through Semantic Kernel.</summary>
    public static IChatCompletionService ChatService(Kernel kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        return kernel.GetRequiredService<IChatClient>().AsChatCompletionService(kernel.Services);
    }

    /// <summary>Asks one question with automatic function calling; the history gains the call, its result and the answer.</summary>
    public static async Task<string> AskAsync(Kernel kernel, ChatHistory history, string question, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(history);
        history.AddUserMessage(question);
        var settings = new PromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Auto() };
        var answer = await ChatService(kernel).GetChatMessageContentAsync(history, settings, kernel, cancellationToken);
        history.Add(answer);
        return answer.Content ?? "";
    }

    /// <summary>The name the model must use to call <see cref="WeatherPlugin.Now"/>, as Semantic Kernel advertises it.</summary>
    public static string ToolName(Kernel kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        // As an AIFunction, a kernel function is named "<plugin>_<function>".
        return ((AIFunction)kernel.Plugins.GetFunction(PluginName, "now")).Name;
    }
}
