using LocalLlm.ModelForge;

namespace LocalLlm.Bench.Suites;

/// <summary>
/// What an image costs before the first token: the same question with and without an image on ModelForge's vision
/// design (a phi3v folder: ORT GenAI's MultiModalProcessor, a vision graph, an embedding graph, a one-layer decoder).
/// The decoder is tiny, so the numbers show the image path's own cost (managed decode and PNG re-encode, the processor's
/// HD transform, 2,509 extra prompt tokens for a square image) rather than a real vision encoder's.
/// </summary>
internal sealed class ImagesSuite : ISuite
{
    public string Name => "images";

    public string Description => "time to first token with an image vs the same prompt without (vision design, phi3v)";

    public async Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        string folder = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Vision });
        using var client = new LocalLlmChatClient(folder, new LocalLlmChatClientOptions { EnableKvCacheReuse = false });
        int reps = context.Reps(7);
        const string question = "What colour is this? ";
        var cases = new (string Name, AIContent? Image)[]
        {
            ("text only", null),
            ("+ 64 × 64 PNG", new DataContent(VisionImages.Png(64, 64, 200), "image/png")),
            ("+ 1024 × 768 JPEG", new DataContent(VisionImages.Jpeg(1024, 768, 200), "image/jpeg")),
        };

        var rows = new List<(string Name, int Prompt, Summary Ttft, Summary Total)>();
        foreach (var (name, image) in cases)
        {
            context.Log($"images: {name}");
            ChatMessage[] messages = [image is null ? new ChatMessage(ChatRole.User, question) : new ChatMessage(ChatRole.User, [new TextContent(question), image])];
            var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 8 };
            await client.GetResponseAsync(messages, options, cancellationToken); // warm-up (the processor is created on first use)
            var ttft = new List<double>();
            var total = new List<double>();
            int prompt = 0;
            for (int i = 0; i < reps; i++)
            {
                var watch = System.Diagnostics.Stopwatch.StartNew();
                var response = await client.GetResponseAsync(messages, options, cancellationToken);
                total.Add(watch.Elapsed.TotalMilliseconds);
                var stats = response.GetGenerationStats()!;
                ttft.Add(stats.TimeToFirstToken.TotalMilliseconds);
                prompt = stats.PromptTokens;
            }
            rows.Add((name, prompt, Summary.Of(ttft), Summary.Of(total)));
        }

        var table = new MarkdownTable("prompt", "prompt tokens", "TTFT median ms", "TTFT p95 ms", "call median ms (includes processing)", "TTFT vs text only");
        foreach (var row in rows)
            table.Row(row.Name, row.Prompt.ToString(System.Globalization.CultureInfo.InvariantCulture), F(row.Ttft.Median), F(row.Ttft.P95), F(row.Total.Median), F(row.Ttft.Median / rows[0].Ttft.Median, "0.0") + "×");
        context.Findings["images.ttft_ratio"] = rows[1].Ttft.Median / rows[0].Ttft.Median;
        var md = new StringBuilder();
        md.AppendLine($"Model: ModelForge's vision design (phi3v, fp32, 1 layer, hidden 160), greedy, 8 new tokens, KV reuse off, warm-up 1, median of {reps}. TTFT is LocalLlm's (from admission to the first token: the generator's SetInputs and the first step, which runs the vision and embedding graphs and prefills every image token); the call time adds the managed decode, the PNG re-encode and ORT GenAI's image processor, which run before admission. An image adds phi3v's image tokens to the prompt (2,509 for a square image, 16 crops of 336 × 336), so on a real model the prefill of those tokens dominates.");
        md.AppendLine();
        md.AppendLine(table.ToString());
        return new SuiteResult("Images: time to first token with and without an image", md.ToString(), []);
    }
}
