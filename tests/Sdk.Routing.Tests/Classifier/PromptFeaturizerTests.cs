using LocalLlm.Routing.Classifier;

namespace LocalLlm.Routing.Tests.Classifier;

public sealed class PromptFeaturizerTests
{
    private const int HashBits = 16;

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("\nA.")]
    [InlineData("Which of the following is a prime number?\nA. 4\nB. 6\nC. 7\nD. 9\nAnswer:")]
    [InlineData("Solve x^2 + 3x = 10 for x.\n\nShow your work: $\\frac{a}{b}$ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀\r\n")]
    [InlineData("Statement 1 | Every group of order 4 is cyclic. Statement 2 | S_3 is abelian.\nA. True, True\nB. False, False\nC. True, False\nD. False, True")]
    public void Featurize_AnyPrompt_SortedDistinctIndicesInRangeWithFiniteValues(string prompt)
    {
        var (indices, values) = PromptFeaturizer.Featurize(prompt, HashBits);

        Assert.Equal(indices.Length, values.Length);
        for (int i = 1; i < indices.Length; i++)
            Assert.True(indices[i] > indices[i - 1], $"indices not strictly increasing at {i}");
        Assert.All(indices, i => Assert.InRange(i, 0, PromptFeaturizer.Dimension(HashBits) - 1));
        Assert.All(values, v => Assert.True(float.IsFinite(v), $"value {v}"));
        // The dense block is always last and complete; shape buckets are hashed even for an empty prompt.
        Assert.Equal(Enumerable.Range(1 << HashBits, PromptFeaturizer.DenseCount), indices[^PromptFeaturizer.DenseCount..]);
        Assert.True(indices.Length > PromptFeaturizer.DenseCount);
        Assert.Equal((indices, values), PromptFeaturizer.Featurize(prompt, HashBits), new FeatureComparer());
    }

    [Fact]
    public void Featurize_WordInTheOptions_HashedApartFromTheQuestionAndNotDilutedByThem()
    {
        // A one-word question: its word is the only member of the question block, so its value is 1/sqrt(1).
        var (alone, aloneValues) = PromptFeaturizer.Featurize("zqxj", HashBits);
        int word = alone.Where((index, k) => index < 1 << HashBits && aloneValues[k] == 1f).Single();

        // The same word again in the options, and a long option list: the question word keeps exactly 1 (option
        // words have their own hash seed and their own 1/sqrt(count) scale; hashed with the question's it would be 1.5).
        foreach (string prompt in new[] { "zqxj\nA. zqxj", "zqxj\nA. zqxj\nB. mercury venus\nC. earth mars jupiter\nD. saturn uranus neptune pluto" })
        {
            var (indices, values) = PromptFeaturizer.Featurize(prompt, HashBits);
            int at = Array.BinarySearch(indices, word);
            Assert.True(at >= 0, prompt);
            Assert.Equal(1f, values[at]);
        }
    }

    private sealed class FeatureComparer : IEqualityComparer<(int[] Indices, float[] Values)>
    {
        public bool Equals((int[] Indices, float[] Values) x, (int[] Indices, float[] Values) y) =>
            x.Indices.SequenceEqual(y.Indices) && x.Values.SequenceEqual(y.Values);

        public int GetHashCode((int[] Indices, float[] Values) obj) => obj.Indices.Length;
    }
}
