namespace LocalLlm.ModelForge.Tests;

/// <summary>A folder this repo did not make (exported by ORT GenAI's own model builder) runs through the raw API.</summary>
public sealed class ThirdPartyModelTests
{
    private static readonly string s_folder = RepoPaths.SharedModel("tiny-random-llama-fp16");

    [Fact]
    public void RawApi_TinyRandomLlama_LoadsAndGeneratesGreedily()
    {
        using var model = new Model(s_folder);
        using var tokenizer = new Tokenizer(model);
        using var sequences = tokenizer.Encode("Hello, world");
        int[] prompt = sequences[0].ToArray();
        Assert.NotEmpty(prompt);

        int[] first = RawLoop.Greedy(model, prompt, 8);
        int[] second = RawLoop.Greedy(model, prompt, 8);

        Assert.Equal(8, first.Length);
        Assert.Equal(first, second); // greedy decoding is deterministic
        Assert.All(first, t => Assert.InRange(t, 0, 31999));
    }
}
