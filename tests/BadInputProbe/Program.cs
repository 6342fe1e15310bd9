// Feeds one kind of bad input to the SDK and prints what was thrown. A native crash would end this
// process with a signal instead of exit code 0, which is what the tests look for.
// "fuzz <folder> <seed> <first> <count>" runs seeded bad requests (BadRequests.cs), one line per case.
using System.Diagnostics;
using LocalLlm;
using LocalLlm.BadInputProbe;
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
        case "images": // every file of a folder as an image for a vision model: one line each, an answer or a clear exception
            return await ImagesAsync(folder, args[2]);
        case "fuzz":
            return await FuzzAsync(folder, int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture));
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

// Damaged images (cut, flipped bytes) given to a vision model: each must end in an answer or an ArgumentException; a
// native crash kills this process (libjpeg's exit on a cut header is what LocalLlm's managed decode prevents).
static async Task<int> ImagesAsync(string folder, string images)
{
    using var client = new LocalLlmChatClient(folder);
    int unexpected = 0, n = 0;
    foreach (string file in Directory.GetFiles(images).Order(StringComparer.Ordinal))
    {
        string name = Path.GetFileName(file);
        string media = name.EndsWith(".png", StringComparison.Ordinal) ? "image/png" : "image/jpeg";
        try
        {
            var r = await client.GetResponseAsync([new ChatMessage(ChatRole.User, [new TextContent("What colour? "), new DataContent(File.ReadAllBytes(file), media)])],
                new ChatOptions { Temperature = 0, MaxOutputTokens = 2 }).WaitAsync(TimeSpan.FromSeconds(30));
            Console.WriteLine($"image {name}: ok {r.Text}");
        }
        catch (ArgumentException e) when (e.ParamName == "messages")
        {
            Console.WriteLine($"image {name}: caught ArgumentException: {e.Message.Split('\n')[0]}");
        }
        catch (Exception e)
        {
            unexpected++;
            Console.WriteLine($"image {name}: UNEXPECTED {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
        n++;
    }
    Console.WriteLine($"images done: {n} files, {unexpected} unexpected");
    return 0;
}

// Every case must end in a result or an exception a caller can act on: ArgumentException (the option is named),
// NotSupportedException, PromptLengthException, StructuredOutputException. Anything else, or a case that needs its
// 30-second limit, is printed as UNEXPECTED with the seed and index that reproduce it.
static async Task<int> FuzzAsync(string folder, int seed, int first, int count)
{
    using var client = new LocalLlmChatClient(folder);
    int unexpected = 0;
    for (int i = first; i < first + count; i++)
    {
        string what = "?";
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var clock = Stopwatch.StartNew();
        string outcome;
        try
        {
            // Microsoft.Extensions.AI's own constructors may refuse a fault first (an empty tool name): that counts as caught.
            (what, var messages, var options) = BadRequests.Create(seed, i);
            var response = await client.GetResponseAsync(messages, options, limit.Token);
            outcome = "ok " + response.FinishReason;
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PromptLengthException or StructuredOutputException)
        {
            outcome = "caught " + e.GetType().Name;
        }
        catch (Exception e)
        {
            unexpected++;
            outcome = $"UNEXPECTED {(limit.IsCancellationRequested ? "hang (30 s)" : e.GetType().Name)}: {e.Message.Split('\n')[0]}";
        }
        Console.WriteLine($"case {seed}/{i} [{what}] {clock.ElapsedMilliseconds} ms: {outcome}");
        Console.Out.Flush();
    }
    Console.WriteLine($"fuzz done: {count} cases, {unexpected} unexpected");
    return 0;
}
