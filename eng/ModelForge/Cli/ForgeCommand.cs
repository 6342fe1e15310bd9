using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

namespace LocalLlm.ModelForge.Cli;

/// <summary>The command line: <c>dotnet run --project eng/ModelForge -- --design copy --out DIR</c>.</summary>
public static class ForgeCommand
{
    private static readonly Option<string> s_design = Choice("--design", "copy", "What the model computes.",
        "copy", "successor", "fixed-distribution", "random", "beam-trap", "vision");
    private static readonly Option<string> s_precision = Choice("--precision", "fp32", "Weight precision.",
        "fp32", "fp16", "int8", "int4");
    private static readonly Option<string> s_attention = Choice("--attention", "plain",
        "plain (ONNX ops, Concat KV cache) or gqa (GroupQueryAttention, shared KV buffer).", "plain", "gqa");
    private static readonly Option<string> s_out = new("--out", "-o") { Description = "Output folder (created).", Required = true };
    private static readonly Option<int> s_lag = new("--lag") { Description = "Copy design: next token = the token this many positions back.", DefaultValueFactory = _ => 4 };
    private static readonly Option<string?> s_preset = new("--preset")
    {
        Description = $"Random design: shape preset ({string.Join(", ", ModelShape.PresetNames)}); custom flags override its fields.",
    };
    private static readonly Option<int> s_seed = new("--seed") { Description = "Random design: weight seed.", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> s_accuracy = new("--accuracy-level") { Description = "MatMulNBits accuracy_level 0..4 (int8/int4).", DefaultValueFactory = _ => 4 };
    private static readonly Option<int?> s_context = new("--context-length") { Description = "context_length (default: 2048 for designed models, the shape's for random)." };
    private static readonly Option<int?> s_hidden = new("--hidden-size") { Description = "Random design: hidden size." };
    private static readonly Option<int?> s_layers = new("--layers") { Description = "Random design: decoder layers." };
    private static readonly Option<int?> s_heads = new("--heads") { Description = "Random design: attention heads." };
    private static readonly Option<int?> s_kvHeads = new("--kv-heads") { Description = "Random design: key/value heads." };
    private static readonly Option<int?> s_headSize = new("--head-size") { Description = "Random design: head size." };
    private static readonly Option<int?> s_intermediate = new("--intermediate-size") { Description = "Random design: MLP width." };
    private static readonly Option<int?> s_vocab = new("--vocab-size") { Description = "Random design: vocabulary size (>= 261)." };

    /// <summary>Builds the root command.</summary>
    public static RootCommand Create()
    {
        var root = new RootCommand("ModelForge: writes ONNX Runtime GenAI model folders with designed or random weights.")
        {
            s_design, s_precision, s_attention, s_out, s_lag, s_preset, s_seed, s_accuracy, s_context,
            s_hidden, s_layers, s_heads, s_kvHeads, s_headSize, s_intermediate, s_vocab,
        };
        root.SetAction((parse, _) => Task.FromResult(Execute(parse)));
        return root;
    }

    /// <summary>Runs the command line; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        var config = new InvocationConfiguration();
        if (output is not null)
            config.Output = output;
        if (error is not null)
            config.Error = error;
        return Create().Parse(args).Invoke(config);
    }

    private static int Execute(ParseResult parse)
    {
        TextWriter output = parse.InvocationConfiguration.Output;
        ForgeOptions options;
        try
        {
            options = ToOptions(parse);
            options.Validate();
        }
        catch (ArgumentException e)
        {
            parse.InvocationConfiguration.Error.WriteLine(e.Message);
            return 2;
        }
        string outDir = Path.GetFullPath(parse.GetRequiredValue(s_out));
        var watch = Stopwatch.StartNew();
        Forge.Write(options, outDir);
        long bytes = new DirectoryInfo(outDir).EnumerateFiles().Sum(f => f.Length);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Wrote {options.Design} {options.Precision} {options.Attention} to {outDir}: {bytes / 1e6:F1} MB in {watch.Elapsed.TotalSeconds:F2} s"));
        return 0;
    }

    internal static ForgeOptions ToOptions(ParseResult parse)
    {
        ModelDesign design = parse.GetValue(s_design) switch
        {
            "successor" => ModelDesign.Successor,
            "fixed-distribution" => ModelDesign.FixedDistribution,
            "random" => ModelDesign.Random,
            "beam-trap" => ModelDesign.BeamTrap,
            "vision" => ModelDesign.Vision,
            _ => ModelDesign.Copy,
        };
        WeightPrecision precision = parse.GetValue(s_precision) switch
        {
            "fp16" => WeightPrecision.Fp16,
            "int8" => WeightPrecision.Int8,
            "int4" => WeightPrecision.Int4,
            _ => WeightPrecision.Fp32,
        };
        ModelShape? shape = null;
        bool custom = new[] { s_hidden, s_layers, s_heads, s_kvHeads, s_headSize, s_intermediate, s_vocab }
            .Any(o => parse.GetValue(o) is not null);
        string? preset = parse.GetValue(s_preset);
        if (design == ModelDesign.Random)
        {
            shape = preset is null ? ModelShape.Tiny : ModelShape.FromPreset(preset);
            shape = shape with
            {
                HiddenSize = parse.GetValue(s_hidden) ?? shape.HiddenSize,
                Layers = parse.GetValue(s_layers) ?? shape.Layers,
                AttentionHeads = parse.GetValue(s_heads) ?? shape.AttentionHeads,
                KeyValueHeads = parse.GetValue(s_kvHeads) ?? shape.KeyValueHeads,
                HeadSize = parse.GetValue(s_headSize) ?? shape.HeadSize,
                IntermediateSize = parse.GetValue(s_intermediate) ?? shape.IntermediateSize,
                VocabSize = parse.GetValue(s_vocab) ?? shape.VocabSize,
            };
        }
        else if (preset is not null || custom)
        {
            throw new ArgumentException("--preset and the shape flags apply to --design random only.");
        }
        return new ForgeOptions
        {
            Design = design,
            Precision = precision,
            Attention = parse.GetValue(s_attention) == "gqa" ? AttentionKind.GroupQueryAttention : AttentionKind.Plain,
            Lag = parse.GetValue(s_lag),
            Shape = shape,
            Seed = parse.GetValue(s_seed),
            AccuracyLevel = parse.GetValue(s_accuracy),
            ContextLength = parse.GetValue(s_context),
        };
    }

    private static Option<string> Choice(string name, string defaultValue, string description, params string[] values)
    {
        var option = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.AcceptOnlyFromAmong(values);
        return option;
    }
}
