using System.Diagnostics;
using System.Globalization;
using CsvHelper;
using LocalLlm.Routing.Classifier;

namespace LocalLlm.Routing.Tests.Classifier;

public sealed class PromptClassifierTests
{
    [Fact]
    public void LoadDefault_ShipsAsAnEmbeddedResource_LoadsAndScores()
    {
        Assert.Contains("LocalLlm.Routing.prompt-classifier.bin", typeof(PromptClassifier).Assembly.GetManifestResourceNames());
        PromptClassifier classifier = PromptClassifier.LoadDefault();

        float score = classifier.Score("Which of the following is a prime number?\nA. 4\nB. 6\nC. 7\nD. 9\nAnswer:");

        Assert.InRange(score, 0f, 1f);
        Assert.Contains("held-out APGR", classifier.Description, StringComparison.Ordinal);
        Assert.Contains("featurizer v2", classifier.Description, StringComparison.Ordinal);
        Assert.Same(classifier, PromptClassifier.LoadDefault());
    }

    [Fact]
    public void ThresholdForLargeShare_IsMonotoneAndSplitsRouteLlmPromptsNearTheShare()
    {
        PromptClassifier classifier = PromptClassifier.LoadDefault();
        string[] prompts = [.. Directory.GetFiles(RepoPaths.Dataset("routellm/mmlu/responses"), "mmlu_*.csv")
            .Order(StringComparer.Ordinal)
            .SelectMany(ReadPrompts)
            .Where((_, i) => i % 7 == 0)];
        Assert.True(prompts.Length > 1000, $"only {prompts.Length} prompts read");
        float[] scores = [.. prompts.Select(classifier.Score)];

        float t20 = classifier.ThresholdForLargeShare(0.2), t50 = classifier.ThresholdForLargeShare(0.5), t80 = classifier.ThresholdForLargeShare(0.8);
        Assert.True(t20 > t50 && t50 > t80);
        Assert.Equal(float.PositiveInfinity, classifier.ThresholdForLargeShare(0));
        double share50 = scores.Count(s => s >= t50) / (double)scores.Length;
        Assert.InRange(share50, 0.4, 0.6);
    }

    [Fact]
    public void Score_RouteLlmRows_RanksPromptsTheLargeModelGainsOnFirst()
    {
        // A sanity check of the shipped weights on labelled rows (every 7th row, both halves of the trainer's split, so
        // this is not an evaluation): the 30 % the classifier ranks highest gain more from the large model than the
        // 30 % it ranks lowest. On these rows the average gain is about 0.13.
        PromptClassifier classifier = PromptClassifier.LoadDefault();
        var rows = Directory.GetFiles(RepoPaths.Dataset("routellm/mmlu/responses"), "mmlu_*.csv")
            .Order(StringComparer.Ordinal)
            .SelectMany(ReadLabelledRows)
            .Where((_, i) => i % 7 == 0)
            .Select(r => (Score: classifier.Score(r.Prompt), r.Gain))
            .OrderByDescending(r => r.Score)
            .ToList();
        int tail = rows.Count * 3 / 10;

        double top = rows.Take(tail).Average(r => r.Gain), bottom = rows.TakeLast(tail).Average(r => r.Gain);

        Assert.True(top - bottom > 0.1, $"top 30 % gain {top:F3}, bottom 30 % {bottom:F3}");
    }

    [Fact]
    public void Load_FormatVersion1_ThrowsInvalidDataSayingRetrain()
    {
        // Version 1 weights were trained on the version-1 featurizer (no option-word seed, no char 4-grams or shape
        // buckets); scoring them with today's featurizer would be silently wrong, so they are refused.
        using var stream = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(stream, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        using (var writer = new BinaryWriter(gzip))
        {
            writer.Write(0x43524c4c);
            writer.Write(1);
            writer.Write(16);
        }
        stream.Position = 0;

        var e = Assert.Throws<InvalidDataException>(() => PromptClassifier.Load(stream));
        Assert.Contains("format 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("retrain", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NotAClassifier_ThrowsInvalidData()
    {
        using var garbage = new MemoryStream([1, 2, 3, 4]);
        Assert.ThrowsAny<InvalidDataException>(() => PromptClassifier.Load(garbage));
    }

    [Fact]
    public async Task ClassifierRoutingStrategy_RoutesByScoreAgainstTheThreshold()
    {
        var strategy = new ClassifierRoutingStrategy(PromptClassifier.LoadDefault(), largeShare: 0.5);
        string prompt = "Find the degree for the given field extension Q(sqrt(2), sqrt(3)) over Q.\nA. 0\nB. 4\nC. 2\nD. 6";

        RouteChoice choice = (await strategy.ChooseAsync(new RoutingRequest([new ChatMessage(ChatRole.User, prompt)], null), default))!;

        float score = PromptClassifier.LoadDefault().Score(prompt);
        Assert.Equal(score >= strategy.Threshold ? "large" : "small", choice.Tier);
        Assert.StartsWith("score ", choice.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>("stream", () => PromptClassifier.Load(null!));
        Assert.Throws<ArgumentNullException>("prompt", () => PromptClassifier.LoadDefault().Score(null!));
        Assert.Throws<ArgumentNullException>("classifier", () => new ClassifierRoutingStrategy(null!, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>("largeShare", () => new ClassifierRoutingStrategy(PromptClassifier.LoadDefault(), 1.5));
        Assert.Throws<ArgumentNullException>("rules", () => new RuleRoutingStrategy(null!));
        Assert.Throws<ArgumentNullException>("keywords", () => RoutingRule.ContainsKeyword(null!, "large"));
        Assert.Throws<ArgumentException>("keywords", () => RoutingRule.ContainsKeyword([], "large"));
        Assert.Throws<ArgumentNullException>("router", () => new IntentRoutingStrategy(null!, new Dictionary<string, string> { ["a"] = "small" }));
        Assert.Throws<ArgumentException>("intents", () => new IntentRoutingStrategy(new Fakes.FakeChatClient("r"), new Dictionary<string, string>()));
        Assert.Throws<ArgumentNullException>("messages", () => new RoutingRequest(null!, null));
    }

    /// <summary>Prompt and large-minus-small correctness (-1, 0, 1) of each row of one RouteLLM CSV file.</summary>
    private static List<(string Prompt, double Gain)> ReadLabelledRows(string path)
    {
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, CultureInfo.InvariantCulture);
        var rows = new List<(string, double)>();
        csv.Read();
        csv.ReadHeader();
        while (csv.Read())
        {
            double strong = bool.Parse(csv.GetField("gpt-4-1106-preview")!) ? 1 : 0;
            double weak = bool.Parse(csv.GetField("mistralai/Mixtral-8x7B-Instruct-v0.1")!) ? 1 : 0;
            rows.Add((csv.GetField("prompt")!, strong - weak));
        }
        return rows;
    }

    /// <summary>The prompt column of one RouteLLM CSV file, exactly as the trainer reads it.</summary>
    private static List<string> ReadPrompts(string path)
    {
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, CultureInfo.InvariantCulture);
        var prompts = new List<string>();
        csv.Read();
        csv.ReadHeader();
        while (csv.Read())
            prompts.Add(csv.GetField("prompt")!);
        return prompts;
    }
}
