// Feeds one kind of bad input to the SDK and prints what was thrown. A native crash would end this
// process with a signal instead of exit code 0, which is what the tests look for.
using LocalLlm;
using Microsoft.Extensions.AI;
using Microsoft.ML.OnnxRuntimeGenAI;

string kind = args[0];
string folder = args.Length > 1 ? args[1] : "";
try
{
    switch (kind)
    {
        case "load": // a bad folder
            using (LocalModel.Load(folder)) { }
            break;
        case "raw-out-of-vocab": // what native code does with an id past the vocabulary when nobody checks
            using (var model = new Model(folder))
            using (var p = new GeneratorParams(model))
            {
                p.SetSearchOption("max_length", 16);
                using var g = new Generator(model, p);
                g.AppendTokens(new[] { 1, 999_999 });
            }
            break;
        case "out-of-vocab":
            using (var model = LocalModel.Load(folder)) model.Decode([1, 999_999]);
            break;
        case "overlong":
            using (var client = new LocalLlmChatClient(folder))
                await client.GetResponseAsync([new ChatMessage(ChatRole.User, string.Join(' ', Enumerable.Repeat("word", 5000)))]);
            break;
        case "nan-temperature":
            using (var client = new LocalLlmChatClient(folder))
                await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { Temperature = float.NaN });
            break;
        default:
            Console.WriteLine($"unknown case {kind}");
            return 2;
    }
    Console.WriteLine("no exception");
}
catch (Exception e)
{
    Console.WriteLine($"caught {e.GetType().Name}: {e.Message.Split('\n')[0]}");
}
return 0;
