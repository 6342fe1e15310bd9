using LocalLlm.ModelForge;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm.Tests.Sampling;

/// <summary>
/// Beams and sampled candidates on prompts longer than several prefill chunks give the tokens of a raw ORT GenAI
/// generator that appends the whole prompt in one call. (They are appended in one call too: ORT GenAI 0.18 and 0.20 refuse a
/// second append for both, see <see cref="Prefill.Whole"/>; these tests failed with those errors when they were chunked.)
/// </summary>
public sealed class LongPromptDecodingTests
{
    private static readonly string s_filler = string.Concat(Enumerable.Repeat("the river runs to the sea ", 24)); // ~620 byte tokens

    private static LocalModel Load() => LocalModel.Load(ForgedModels.GetOrCreate(new ForgeOptions
    {
        Design = ModelDesign.Random, Shape = ModelShape.Tiny, Attention = AttentionKind.GroupQueryAttention, Precision = WeightPrecision.Fp32,
    }));

    private static int[] Prompt(LocalModel model) =>
        model.Encode(model.ApplyChatTemplate(null, PromptRenderer.MessagesJson([new ChatMessage(ChatRole.User, s_filler)]), null));

    /// <summary>Output tokens of each row of a raw generator (whole prompt appended once), cut at the end token.</summary>
    private static List<int[]> Raw(LocalModel model, int[] prompt, int rows, int newTokens, Action<GeneratorParams> search)
    {
        using var p = new GeneratorParams(model.NativeModel);
        p.SetSearchOption("max_length", prompt.Length + newTokens);
        search(p);
        using var g = new Generator(model.NativeModel, p);
        var all = new int[rows * prompt.Length];
        for (int r = 0; r < rows; r++) prompt.CopyTo(all, r * prompt.Length);
        g.AppendTokens(all);
        while (!g.IsDone()) g.GenerateNextToken();
        var result = new List<int[]>();
        for (int r = 0; r < rows; r++)
        {
            int[] output = g.GetSequence((ulong)r)[prompt.Length..].ToArray();
            int end = Array.FindIndex(output, model.Info.EosTokenIds.Contains);
            result.Add(end >= 0 ? output[..end] : output);
        }
        return result;
    }

    [Fact]
    public async Task GetResponseAsync_BeamSearchOnALongPrompt_MatchesAOneCallRawBeamSearch()
    {
        using var model = Load();
        int[] prompt = Prompt(model);
        Assert.True(prompt.Length > 2 * Prefill.Chunk, $"prompt of {prompt.Length} tokens");
        using var client = new LocalLlmChatClient(model);

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, s_filler)], new ChatOptions { MaxOutputTokens = 12 }.WithNumBeams(3));

        // One row in, num_beams rows out: the raw generator expands the single prompt itself.
        using var p = new GeneratorParams(model.NativeModel);
        p.SetSearchOption("max_length", prompt.Length + 12);
        p.SetSearchOption("do_sample", false);
        p.SetSearchOption("num_beams", 3);
        using var g = new Generator(model.NativeModel, p);
        g.AppendTokens(prompt);
        while (!g.IsDone()) g.GenerateNextToken();
        int[] best = g.GetSequence(0)[prompt.Length..].ToArray();
        int end = Array.FindIndex(best, model.Info.EosTokenIds.Contains);
        Assert.Equal(model.Decode(end >= 0 ? best[..end] : best), response.Text);
        Assert.Equal(prompt.Length, response.Usage!.InputTokenCount);
    }

    [Fact]
    public async Task GetResponseAsync_SeededCandidatesOnALongPrompt_MatchARawBatch()
    {
        using var model = Load();
        int[] prompt = Prompt(model);
        using var client = new LocalLlmChatClient(model);

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, s_filler)],
            new ChatOptions { Temperature = 1, Seed = 11, MaxOutputTokens = 10 }.WithCandidateCount(3));

        var raw = Raw(model, prompt, 3, 10, p =>
        {
            p.SetSearchOption("batch_size", 3);
            p.SetSearchOption("do_sample", true);
            p.SetSearchOption("temperature", 1.0);
            p.SetSearchOption("random_seed", 11);
        });
        // Decoded token by token, as every streamed answer is (byte tokens that are not UTF-8 alone decode differently in one call).
        string Stream(int[] tokens)
        {
            using var decoder = model.CreateTokenizerStream();
            return string.Concat(tokens.Select(t => decoder.Decode(t)));
        }
        Assert.Equal(raw.Select(Stream), response.Messages.Select(m => m.Text));
    }
}
