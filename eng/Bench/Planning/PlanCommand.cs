using System.CommandLine;
using System.Globalization;
using LocalLlm.Memory;

namespace LocalLlm.Bench.Planning;

/// <summary><c>bench plan</c>: the memory planner on the command line (inference by default, <c>--train</c> for training).</summary>
internal static class PlanCommand
{
    /// <summary>Published shapes (Hugging Face config.json) of models people plan for.</summary>
    public static IReadOnlyDictionary<string, ModelShape> Presets { get; } = new Dictionary<string, ModelShape>(StringComparer.OrdinalIgnoreCase)
    {
        ["qwen2.5-0.5b"] = new() { Layers = 24, HiddenSize = 896, AttentionHeads = 14, KeyValueHeads = 2, HeadSize = 64, VocabSize = 151936, IntermediateSize = 4864, TiedEmbeddings = true, AttentionBias = true, ContextLength = 32768 },
        ["llama-3.2-1b"] = new() { Layers = 16, HiddenSize = 2048, AttentionHeads = 32, KeyValueHeads = 8, HeadSize = 64, VocabSize = 128256, IntermediateSize = 8192, TiedEmbeddings = true, ContextLength = 131072 },
        ["phi-3.5-mini"] = new() { Layers = 32, HiddenSize = 3072, AttentionHeads = 32, KeyValueHeads = 32, HeadSize = 96, VocabSize = 32064, IntermediateSize = 8192, ContextLength = 131072 },
        ["llama-2-7b"] = new() { Layers = 32, HiddenSize = 4096, AttentionHeads = 32, KeyValueHeads = 32, HeadSize = 128, VocabSize = 32000, IntermediateSize = 11008, ContextLength = 4096 },
        ["llama-3.1-8b"] = new() { Layers = 32, HiddenSize = 4096, AttentionHeads = 32, KeyValueHeads = 8, HeadSize = 128, VocabSize = 128256, IntermediateSize = 14336, ContextLength = 131072 },
    };

    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = $"Model shape: {string.Join(", ", Presets.Keys)}.", DefaultValueFactory = _ => "qwen2.5-0.5b" };
        var precision = new Option<NumberFormat>("--precision") { Description = "Weight format (fp32, fp16, bf16, int8, int4).", DefaultValueFactory = _ => NumberFormat.Int4 };
        var layers = new Option<int?>("--layers") { Description = "Override: layers." };
        var hidden = new Option<int?>("--hidden") { Description = "Override: hidden size." };
        var heads = new Option<int?>("--heads") { Description = "Override: attention heads." };
        var kvHeads = new Option<int?>("--kv-heads") { Description = "Override: key/value heads." };
        var headSize = new Option<int?>("--head-size") { Description = "Override: head size." };
        var vocab = new Option<int?>("--vocab") { Description = "Override: vocabulary size." };
        var intermediate = new Option<int?>("--intermediate") { Description = "Override: MLP intermediate size." };
        var prompt = new Option<int>("--prompt") { Description = "Inference: prompt tokens prefilled at once.", DefaultValueFactory = _ => 128 };
        var maxLength = new Option<int>("--max-length") { Description = "Inference: prompt + generated tokens.", DefaultValueFactory = _ => 2048 };
        var prefillChunk = new Option<int>("--prefill-chunk") { Description = "Inference: prompt tokens per prefill step (0: whole prompt; LocalLlm's client uses 256 on GQA models).", DefaultValueFactory = _ => 0 };
        var concurrency = new Option<int>("--concurrency") { Description = "Inference: concurrent sequences.", DefaultValueFactory = _ => 1 };
        var budget = new Option<double?>("--budget-gib") { Description = "Inference: memory budget in GiB; prints the max length and concurrency that fit." };
        var images = new Option<int>("--images") { Description = "Inference: images per sequence (phi3v; their tokens are added to the prompt).", DefaultValueFactory = _ => 0 };
        var imageSize = new Option<string>("--image-size") { Description = "Inference: image size WxH (2,509 tokens for a square image).", DefaultValueFactory = _ => "1024x1024" };
        var adapters = new Option<string[]>("--adapter") { Description = "Inference: an .onnx_adapter file loaded into the model (repeatable); or --lora-rank/--lora-targets for one adapter from its shape.", AllowMultipleArgumentsPerToken = true };
        var train = new Option<bool>("--train") { Description = "Plan training instead of inference." };
        var trainPrecision = new Option<TrainingPrecision>("--training-precision") { Description = "Fp32 or MixedFp16.", DefaultValueFactory = _ => TrainingPrecision.MixedFp16 };
        var optimizer = new Option<OptimizerKind>("--optimizer") { Description = "Adam, Adam8Bit or SgdMomentum.", DefaultValueFactory = _ => OptimizerKind.Adam };
        var loraRank = new Option<int>("--lora-rank") { Description = "LoRA rank (0: full fine-tuning).", DefaultValueFactory = _ => 0 };
        var loraTargets = new Option<LoraTargets>("--lora-targets") { Description = "QueryValue, Attention, All, or a comma list (Query,Key,Value,Output,Gate,Up,Down).", DefaultValueFactory = _ => LoraTargets.QueryValue };
        var frozenBase = new Option<NumberFormat>("--frozen-base") { Description = "LoRA: frozen base format (fp16, int8, int4).", DefaultValueFactory = _ => NumberFormat.Fp16 };
        var seq = new Option<int>("--seq") { Description = "Training: sequence length.", DefaultValueFactory = _ => 512 };
        var batch = new Option<int>("--batch") { Description = "Training: micro-batch per device.", DefaultValueFactory = _ => 1 };
        var checkpointing = new Option<bool>("--checkpointing") { Description = "Training: gradient checkpointing." };
        var shards = new Option<int>("--shards") { Description = "Training: FSDP / ZeRO-3 devices.", DefaultValueFactory = _ => 1 };
        var offload = new Option<bool>("--offload") { Description = "Training: CPU offload of gradients and optimizer states." };

        var command = new Command("plan", "Memory planner: weights, KV cache, activations (inference) or parameters, gradients, optimizer states, activations (training).")
        {
            preset, precision, layers, hidden, heads, kvHeads, headSize, vocab, intermediate, prompt, maxLength, prefillChunk, concurrency, budget,
            images, imageSize, adapters, train, trainPrecision, optimizer, loraRank, loraTargets, frozenBase, seq, batch, checkpointing, shards, offload,
        };
        command.SetAction(parse =>
        {
            TextWriter output = parse.InvocationConfiguration.Output;
            string name = parse.GetValue(preset)!;
            if (!Presets.TryGetValue(name, out ModelShape? shape))
            {
                parse.InvocationConfiguration.Error.WriteLine($"Unknown --preset '{name}'; use one of: {string.Join(", ", Presets.Keys)}.");
                return 2;
            }
            shape = shape with
            {
                Precision = parse.GetValue(precision),
                Layers = parse.GetValue(layers) ?? shape.Layers,
                HiddenSize = parse.GetValue(hidden) ?? shape.HiddenSize,
                AttentionHeads = parse.GetValue(heads) ?? shape.AttentionHeads,
                KeyValueHeads = parse.GetValue(kvHeads) ?? shape.KeyValueHeads,
                HeadSize = parse.GetValue(headSize) ?? shape.HeadSize,
                VocabSize = parse.GetValue(vocab) ?? shape.VocabSize,
                IntermediateSize = parse.GetValue(intermediate) ?? shape.IntermediateSize,
            };
            try
            {
                if (parse.GetValue(train))
                {
                    var setup = new TrainingSetup
                    {
                        Precision = parse.GetValue(trainPrecision), Optimizer = parse.GetValue(optimizer), LoraRank = parse.GetValue(loraRank),
                        LoraTargets = parse.GetValue(loraTargets), FrozenBasePrecision = parse.GetValue(frozenBase), SequenceLength = parse.GetValue(seq),
                        MicroBatch = parse.GetValue(batch), GradientCheckpointing = parse.GetValue(checkpointing), ShardDevices = parse.GetValue(shards),
                        CpuOffload = parse.GetValue(offload),
                    };
                    output.WriteLine(TrainingPlanner.Estimate(shape, setup).ToMarkdownTable());
                    return 0;
                }
                int imageCount = parse.GetValue(images);
                string[] size = parse.GetValue(imageSize)!.Split('x', 'X');
                if (size.Length != 2 || !int.TryParse(size[0], CultureInfo.InvariantCulture, out int w) || !int.TryParse(size[1], CultureInfo.InvariantCulture, out int h))
                    throw new ArgumentException($"--image-size '{parse.GetValue(imageSize)}' must be WxH, e.g. 1024x768.");
                long adapterBytes = (parse.GetValue(adapters) is { Length: > 0 } files ? InferencePlanner.AdapterFileBytes(files) : 0)
                    + (parse.GetValue(loraRank) > 0 ? InferencePlanner.LoraAdapterBytes(shape, parse.GetValue(loraRank), parse.GetValue(loraTargets)) : 0);
                var workload = new InferenceWorkload(parse.GetValue(prompt), parse.GetValue(maxLength), parse.GetValue(concurrency))
                {
                    PrefillChunk = parse.GetValue(prefillChunk),
                    Images = imageCount,
                    ImageTokens = imageCount > 0 ? imageCount * InferencePlanner.ImageTokens("phi3v", w, h) : 0,
                    AdapterBytes = adapterBytes,
                };
                output.WriteLine(InferencePlanner.Estimate(shape, workload).ToMarkdownTable());
                if (parse.GetValue(budget) is double gib)
                {
                    InferenceRecommendation r = InferencePlanner.Recommend(shape, (long)(gib * 1024 * 1024 * 1024), workload.MaxLength, workload.Concurrency, prefillChunk: workload.PrefillChunk);
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"Budget {gib:0.##} GiB: max length {r.MaxLength} at {r.AtConcurrency} sequence(s); {r.MaxConcurrency} concurrent sequence(s) at max length {r.AtMaxLength} (worst case: full-length prompts prefilled at once{(workload.PrefillChunk > 0 ? $", {workload.PrefillChunk} tokens per step" : "")})."));
                }
                return 0;
            }
            catch (ArgumentException ex)
            {
                parse.InvocationConfiguration.Error.WriteLine(ex.Message);
                return 2;
            }
        });
        return command;
    }
}
