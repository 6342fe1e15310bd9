using System.Collections.Concurrent;
using System.ComponentModel;
using Microsoft.SemanticKernel;

namespace LocalLlm.Samples.SemanticKernel;

/// <summary>A Semantic Kernel plugin the model may call. It records its calls so the sample (and its test) can show that the kernel invoked it.</summary>
public sealed class WeatherPlugin
{
    /// <summary>Cities the plugin was asked about, in order.</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>The current weather (made up: this sample has no network).</summary>
    [KernelFunction("now"), Description("Gets the current weather in a city.")]
    public string Now([Description("The city, e.g. Paris.")] string city)
    {
        Calls.Enqueue(city);
        return $"Weather report for {city}: sunny, 21 degrees Celsius, light wind from the west.";
    }
}
