// Semantic Kernel over LocalLlm: a plugin function invoked automatically (FunctionChoiceBehavior.Auto).
//   dotnet run --project samples/SemanticKernel -c Release                      (built-in demo model)
//   dotnet run --project samples/SemanticKernel -c Release -- --model <id|folder>  (a real model: catalog id or folder)
using LocalLlm.Samples;
using LocalLlm.Samples.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

string? model = args.Length == 2 && args[0] == "--model" ? args[1] : null;
if (args.Length > 0 && model is null)
{
    Console.Error.WriteLine("usage: LocalLlm.Samples.SemanticKernel [--model <id|folder>]");
    return 2;
}

bool demo = model is null;
if (demo)
{
    Console.WriteLine(DemoModel.Notice);
    Console.WriteLine(DemoModel.RealModelHint);
}

var plugin = new WeatherPlugin();
var kernel = LocalKernel.Create(model ?? DemoModel.GetOrCreate(), plugin);
var history = new ChatHistory();

string question = "What is the weather like in Paris right now?";
if (demo)
{
    // The demo model repeats the end of the message, so we write the call it should make at the end: it "decides"
    // to call the function exactly as a real model would, and Semantic Kernel runs it.
    question += $" <tool_call>\n{{\"name\": \"{LocalKernel.ToolName(kernel)}\", \"arguments\": {{\"city\": \"Paris\"}}}}\n</tool_call>";
}

Console.WriteLine($"user> {question}");
string answer = await LocalKernel.AskAsync(kernel, history, question);
foreach (string city in plugin.Calls)
    Console.WriteLine($"(Semantic Kernel invoked {LocalKernel.PluginName}.now(city: \"{city}\"))");
Console.WriteLine($"model> {answer}");
if (demo) Console.WriteLine("(The demo model repeats the end of what it read last: the function's result.)");
return plugin.Calls.IsEmpty && demo ? 1 : 0;
