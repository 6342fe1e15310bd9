using System.CommandLine;
using System.Diagnostics.Metrics;
using System.Text.Json;
using LocalLlm.ModelForge;
using LocalLlm.Samples;
using Microsoft.Extensions.DependencyInjection;

namespace LocalLlm.Bench.Soak;

/// <summary>What one soak run measured: RSS (VmRSS, bytes) after the first <c>Checkpoint</c> requests and at the end, and the idle cached generators then.</summary>
internal sealed record SoakResult(string Model, int Requests, int Checkpoint, long LoadedRss, long CheckpointRss, long FinalRss, long CachedGenerators, long CachedBytes, double Seconds,
    int Cancelled = 0, long ActiveRequests = 0, long ActiveBytes = 0)
{
    /// <summary>RSS growth from the checkpoint to the end, in percent.</summary>
    public double GrowthPercent => 100.0 * (FinalRss - CheckpointRss) / CheckpointRss;
}

/// <summary>
/// `bench soak`: N distinct requests through <c>AddLocalLlm</c> with default options (as an app deploys it), four at a
/// time; reports resident memory after the first requests and at the end. Memory that keeps growing with distinct
/// requests (cached generators nobody evicts) shows as growth after the checkpoint. Runs in its own process so the
/// RSS is this workload's alone; the soak suite starts it as a child.
/// </summary>
internal static class SoakCommand
{
    public const string ResultPrefix = "BENCH-SOAK-RESULT ";

    /// <summary>Every request asks for this many output tokens; prompts differ by their number.</summary>
    public const int OutputTokens = 16;

    public static Command Create()
    {
        var model = new Option<string>("--model") { DefaultValueFactory = _ => "demo", Description = "demo (the samples' demo model), qwen-int4 or qwen-fp32 (Qwen2.5-0.5B-shaped random GQA), or a model folder." };
        var requests = new Option<int>("--requests") { DefaultValueFactory = _ => 10_000, Description = "Distinct requests in all." };
        var checkpoint = new Option<int>("--checkpoint") { DefaultValueFactory = _ => 500, Description = "RSS is read after this many requests and at the end." };
        var cancel = new Option<bool>("--cancel") { Description = $"{CancelConcurrency} requests at a time with ~{CancelPromptWords}-word prompts, each cancelled at a random moment within {CancelWithinMs} ms (queued, in prefill or in decode): nothing may stay live or grow." };
        var command = new Command("soak", "Distinct requests through AddLocalLlm defaults: RSS after the checkpoint and at the end.") { model, requests, checkpoint, cancel };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(model)!, parse.GetValue(requests), parse.GetValue(checkpoint), parse.GetValue(cancel), ct));
        return command;
    }

    public static string Folder(string model) => model switch
    {
        "demo" => DemoModel.GetOrCreate(),
        "qwen-int4" => Qwen(WeightPrecision.Int4),
        "qwen-fp32" => Qwen(WeightPrecision.Fp32),
        _ => Directory.Exists(model) ? model : throw new ArgumentException($"--model '{model}' is neither demo, qwen-int4, qwen-fp32 nor a folder."),
    };

    private static string Qwen(WeightPrecision precision) => ForgedModels.GetOrCreate(new ForgeOptions
    {
        Design = ModelDesign.Random, Shape = ModelShape.Qwen05B, Precision = precision,
        Attention = AttentionKind.GroupQueryAttention, ContextLength = 8192,
    });

    /// <summary>Requests at a time with <c>--cancel</c>.</summary>
    public const int CancelConcurrency = 64;

    private const int CancelPromptWords = 60;

    private const int CancelWithinMs = 8000;

    private static async Task<int> RunAsync(string model, int requests, int checkpoint, bool cancel, CancellationToken ct)
    {
        if (requests < 2 || checkpoint < 1 || checkpoint >= requests)
            throw new ArgumentException($"Need --requests ≥ 2 and 1 ≤ --checkpoint < --requests (got {requests}, {checkpoint}).");
        string folder = Folder(model);
        var services = new ServiceCollection();
        services.AddLocalLlm(o => o.ModelPath = folder);
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IChatClient>();

        long generators = 0, cachedBytes = 0, active = 0, activeBytes = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == LocalLlmTelemetry.Name && instrument.Name is "localllm.kv_cache.generators" or "localllm.kv_cache.bytes" or "localllm.requests.active" or "localllm.kv_cache.active_bytes")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            switch (instrument.Name)
            {
                case "localllm.kv_cache.generators": Interlocked.Add(ref generators, value); break;
                case "localllm.kv_cache.bytes": Interlocked.Add(ref cachedBytes, value); break;
                case "localllm.requests.active": Interlocked.Add(ref active, value); break;
                default: Interlocked.Add(ref activeBytes, value); break;
            }
        });
        listener.Start();

        await client.GetResponseAsync("load the model", new ChatOptions { MaxOutputTokens = 1 }, ct);
        long loaded = Rss();
        var clock = Stopwatch.StartNew();
        int next = 0, cancelled = 0, cancelledDecoding = 0;
        long checkpointRss = 0;
        string padding = cancel ? string.Concat(Enumerable.Repeat(" and then some more words", CancelPromptWords / 5)) : "";
        var gate = new SemaphoreSlim(1);
        async Task Worker()
        {
            while (true)
            {
                int i = Interlocked.Increment(ref next);
                if (i > requests) return;
                string prompt = $"Soak request {i}: please answer this distinct question about item {i * 7919 % 100_003} in a few words{padding}.";
                if (cancel)
                {
                    // A moment anywhere from queueing through prefill into decode; seeded by the request, so a run replays.
                    using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    cts.CancelAfter(new Random(i).Next(0, CancelWithinMs));
                    bool decoding = false;
                    try
                    {
                        await foreach (var update in client.GetStreamingResponseAsync(prompt, new ChatOptions { MaxOutputTokens = 4 * OutputTokens }, cts.Token))
                            decoding |= update.Text.Length > 0;
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        Interlocked.Increment(ref cancelled);
                        if (decoding) Interlocked.Increment(ref cancelledDecoding);
                    }
                }
                else await client.GetResponseAsync(prompt, new ChatOptions { MaxOutputTokens = OutputTokens }, ct);
                if (i == checkpoint)
                {
                    await gate.WaitAsync(ct);
                    try { checkpointRss = Rss(); } finally { gate.Release(); }
                }
                if (i % 500 == 0) Console.Error.WriteLine($"soak {model}: {i}/{requests}, RSS {MiB(Rss())} MiB ({ProcessMemory.Breakdown()}), cached generators {Interlocked.Read(ref generators)}");
            }
        }
        await Task.WhenAll(Enumerable.Range(0, cancel ? CancelConcurrency : 4).Select(_ => Task.Run(Worker, ct)));
        var result = new SoakResult(model, requests, checkpoint, loaded, checkpointRss, Rss(), Interlocked.Read(ref generators), Interlocked.Read(ref cachedBytes), clock.Elapsed.TotalSeconds,
            cancelled, Interlocked.Read(ref active), Interlocked.Read(ref activeBytes));
        Console.WriteLine($"{model}: {requests} distinct requests in {result.Seconds:0} s; RSS loaded {MiB(loaded)} MiB, after {checkpoint} {MiB(checkpointRss)} MiB, " +
            $"at the end {MiB(result.FinalRss)} MiB ({result.GrowthPercent:+0.0;-0.0} %); {result.CachedGenerators} cached generators holding {MiB(result.CachedBytes)} MiB" +
            (cancel ? $"; {cancelled} cancelled ({cancelledDecoding} after their first token); at the end {result.ActiveRequests} requests active, {result.ActiveBytes} bytes reserved" : ""));
        Console.WriteLine(ResultPrefix + JsonSerializer.Serialize(result));
        return 0;
    }

    /// <summary>Resident memory after a full collection, so managed garbage does not count as growth.</summary>
    private static long Rss()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return ProcessMemory.CurrentRssBytes();
    }
}
