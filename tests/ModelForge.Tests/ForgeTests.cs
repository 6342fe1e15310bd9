using LocalLlm.ModelForge.Cli;

namespace LocalLlm.ModelForge.Tests;

/// <summary>Folder-level behaviour: determinism, the cache, the command line, validation and chat use of the copy design.</summary>
public sealed class ForgeTests
{
    public static TheoryData<ModelDesign, WeightPrecision, AttentionKind> DeterminismCases() => new()
    {
        { ModelDesign.Copy, WeightPrecision.Int4, AttentionKind.GroupQueryAttention },
        { ModelDesign.Successor, WeightPrecision.Fp16, AttentionKind.Plain },
        { ModelDesign.FixedDistribution, WeightPrecision.Int8, AttentionKind.Plain },
        { ModelDesign.Random, WeightPrecision.Fp32, AttentionKind.GroupQueryAttention },
    };

    [Theory]
    [MemberData(nameof(DeterminismCases))]
    public void Write_SameOptionsTwice_ByteIdenticalFiles(ModelDesign design, WeightPrecision precision, AttentionKind attention)
    {
        var options = new ForgeOptions { Design = design, Precision = precision, Attention = attention, Seed = 3 };
        using var temp = new TempDirectory();
        string a = RawApi.Forge(temp, options, "a");
        string b = RawApi.Forge(temp, options, "b");

        string[] names = Directory.GetFiles(a).Select(Path.GetFileName).Order().ToArray()!;

        Assert.Equal(names, Directory.GetFiles(b).Select(Path.GetFileName).Order().ToArray());
        Assert.Superset(new HashSet<string>(Forge.FileNames), new HashSet<string>(names));
        foreach (string name in names)
            Assert.True(File.ReadAllBytes(Path.Combine(a, name)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(b, name))), name);
    }

    [Fact]
    public void Write_DifferentSeeds_DifferentWeights()
    {
        using var temp = new TempDirectory();
        string a = RawApi.Forge(temp, new ForgeOptions { Design = ModelDesign.Random, Seed = 1 }, "a");
        string b = RawApi.Forge(temp, new ForgeOptions { Design = ModelDesign.Random, Seed = 2 }, "b");

        Assert.False(File.ReadAllBytes(Path.Combine(a, "model.onnx.data")).AsSpan()
            .SequenceEqual(File.ReadAllBytes(Path.Combine(b, "model.onnx.data"))));
    }

    [Fact]
    public void GetOrCreate_RacingCallers_ShareOneCompleteFolder()
    {
        using var temp = new TempDirectory();
        var options = new ForgeOptions { Design = ModelDesign.Copy, Lag = 7, Precision = WeightPrecision.Int4 };

        string[] folders = Enumerable.Range(0, 4).AsParallel().Select(_ => ForgedModels.GetOrCreate(options, temp.Path)).ToArray();

        Assert.Single(folders.Distinct());
        Assert.Single(Directory.GetDirectories(temp.Path)); // no temporary folder left behind
        Assert.Equal(folders[0], ForgedModels.GetOrCreate(options, temp.Path));
        Assert.NotEqual(folders[0], ForgedModels.GetOrCreate(options with { Lag = 8 }, temp.Path));
        using var model = new Model(folders[0]);
        int[] prompt = ByteTokenizer.Encode("abcdefghij");
        Assert.Equal(CopyDesign.ExpectedContinuation(prompt, 10, 7), RawLoop.Greedy(model, prompt, 10));
    }

    [Fact]
    public void GetOrCreate_NewFolder_PrunesOnlyOldFoldersOfOtherForgeBuilds()
    {
        using var temp = new TempDirectory();
        DateTime old = DateTime.UtcNow - ForgedModels.StaleAfter - TimeSpan.FromHours(1);
        string OtherBuild(string name, DateTime written)
        {
            string folder = Directory.CreateDirectory(Path.Combine(temp.Path, name)).FullName;
            File.WriteAllText(Path.Combine(folder, "forge-options.txt"), "design=copy|0123456789abcdef0123456789abcdef\n");
            Directory.SetLastWriteTimeUtc(folder, written);
            return folder;
        }
        string ours = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Lag = 3 }, temp.Path);
        Directory.SetLastWriteTimeUtc(ours, old);
        string stale = OtherBuild("copy-stale", old);
        string recent = OtherBuild("copy-recent", DateTime.UtcNow);
        string abandoned = Directory.CreateDirectory(Path.Combine(temp.Path, ".tmp-crashed")).FullName;
        Directory.SetLastWriteTimeUtc(abandoned, old);

        ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Lag = 4 }, temp.Path); // forges, then prunes

        Assert.False(Directory.Exists(stale), "an old folder of another forge build should be deleted");
        Assert.False(Directory.Exists(abandoned), "an old abandoned temporary folder should be deleted");
        Assert.True(Directory.Exists(recent), "another build's recent folder may be in use and should stay");
        Assert.True(Directory.Exists(ours), "this build's folders should stay, however old");
    }

    [Fact]
    public void Copy_ChatMlPrompt_EchoesTheUserTailThenStopsAtImEnd()
    {
        // The prompt ends "...<|im_end|>\n<|im_start|>assistant\n" (13 tokens after the user text). With lag 13 + n the
        // reply is the user's last n tokens, then the copied <|im_end|> ends generation.
        const string Echo = "Paris €5 🎉";
        int lag = 13 + ByteTokenizer.Encode(Echo).Length;
        using var temp = new TempDirectory();
        using var model = new Model(RawApi.Forge(temp, new ForgeOptions { Design = ModelDesign.Copy, Lag = lag, Attention = AttentionKind.GroupQueryAttention }));
        using var tokenizer = new Tokenizer(model);
        string prompt = tokenizer.ApplyChatTemplate(null!, """[{"role":"user","content":"Please repeat: Paris €5 🎉"}]""", null, true);
        int[] ids = ByteTokenizer.Encode(prompt);

        int[] reply = RawLoop.Greedy(model, ids, 100);

        Assert.Equal(ByteTokenizer.ImEnd, reply[^1]);
        Assert.Equal(Echo, ByteTokenizer.Decode(reply));
        Assert.Equal(CopyDesign.ExpectedReply(ids, 100, lag), reply[..^1]);
    }

    [Fact]
    public void Validate_BadOptions_ThrowNamingTheOption()
    {
        Assert.Contains("Lag", Assert.Throws<ArgumentException>(() => new ForgeOptions { Lag = 0 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("Shape", Assert.Throws<ArgumentException>(() => new ForgeOptions { Shape = ModelShape.Tiny }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("KeyValueHeads", Assert.Throws<ArgumentException>(() => new ForgeOptions
        {
            Design = ModelDesign.Random,
            Shape = ModelShape.Tiny with { KeyValueHeads = 3 },
        }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("VocabSize", Assert.Throws<ArgumentException>(() => new ForgeOptions
        {
            Design = ModelDesign.Random,
            Shape = ModelShape.Tiny with { VocabSize = 100 },
        }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("AccuracyLevel", Assert.Throws<ArgumentException>(() => new ForgeOptions { AccuracyLevel = 9 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => CopyDesign.ExpectedContinuation([1, 2], 3, lag: 5));
    }

    [Fact]
    public void PublicEntryPoints_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>("options", () => Forge.Write(null!, "folder"));
        Assert.Throws<ArgumentNullException>("outputDirectory", () => Forge.Write(new ForgeOptions(), null!));
        Assert.Throws<ArgumentNullException>("options", () => ForgedModels.GetOrCreate(null!));
        Assert.Throws<ArgumentNullException>("text", () => ByteTokenizer.Encode(null!));
        Assert.Throws<ArgumentException>("name", () => ModelShape.FromPreset("gpt-5"));
    }

    [Fact]
    public void Cli_Help_ListsTheOptions()
    {
        var output = new StringWriter();

        int exit = ForgeCommand.Run(["--help"], output);

        Assert.Equal(0, exit);
        foreach (string option in new[] { "--design", "--precision", "--attention", "--lag", "--preset", "--seed", "--accuracy-level", "--context-length", "--out" })
            Assert.Contains(option, output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Cli_CopyInt4Gqa_WritesALoadableFolder()
    {
        using var temp = new TempDirectory();
        string folder = Path.Combine(temp.Path, "cli");
        var output = new StringWriter();

        int exit = ForgeCommand.Run(["--design", "copy", "--precision", "int4", "--attention", "gqa", "--lag", "3", "--out", folder], output);

        Assert.Equal(0, exit);
        Assert.Contains("Wrote Copy Int4 GroupQueryAttention", output.ToString(), StringComparison.Ordinal);
        using var model = new Model(folder);
        int[] prompt = ByteTokenizer.Encode("xyz123");
        Assert.Equal(CopyDesign.ExpectedContinuation(prompt, 9, 3), RawLoop.Greedy(model, prompt, 9));
    }

    [Fact]
    public void Cli_ShapeFlagsWithoutRandom_FailsWithMessage()
    {
        using var temp = new TempDirectory();
        var error = new StringWriter();

        int exit = ForgeCommand.Run(["--design", "copy", "--preset", "qwen2.5-0.5b", "--out", temp.Path], new StringWriter(), error);

        Assert.NotEqual(0, exit);
        Assert.Contains("--design random", error.ToString(), StringComparison.Ordinal);
    }
}
