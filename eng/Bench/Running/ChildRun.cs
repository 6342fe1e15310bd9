using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using LocalLlm.Bench.Suites;

namespace LocalLlm.Bench.Running;

/// <summary>What a measuring child process is asked to do: load one model folder, generate, report memory and times.</summary>
/// <param name="LocalLlm">
/// Generate through <see cref="LocalLlmChatClient"/> (chat template, prefill in 256-token chunks) instead of a raw ORT
/// GenAI loop that appends the whole prompt in one call.
/// </param>
internal sealed record ChildRequest(string Model, int PromptTokens, int NewTokens, int Reps, int Warmups, bool LocalLlm = false);

/// <summary>What the child measured. RSS values in bytes, from /proc/self/status.</summary>
internal sealed record ChildResult(long BaselineRss, long LoadedRss, long PeakRss, long FinalRss, double LoadMs, int PromptTokens, List<GenerationSample> Samples);

/// <summary>
/// Peak memory is per process (VmHWM only grows), so each measurement runs in a fresh copy of the bench
/// started with the hidden <c>child</c> command.
/// </summary>
internal static class ChildRun
{
    private const string ResultPrefix = "BENCH-CHILD-RESULT ";

    // A run whose text arrives in one update has a zero decode time, so its rates are infinite: let them through as "Infinity".
    private static readonly JsonSerializerOptions s_json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Starts the bench again with <c>child --request json</c> and parses its result line.</summary>
    public static async Task<ChildResult> RunAsync(ChildRequest request, CancellationToken cancellationToken)
    {
        string line = await RunSelfAsync(["child", "--request", JsonSerializer.Serialize(request)], ResultPrefix, request.Model, cancellationToken);
        return JsonSerializer.Deserialize<ChildResult>(line, s_json)!;
    }

    /// <summary>Starts the bench again with <paramref name="args"/> and returns its output line that starts with <paramref name="prefix"/> (without it).</summary>
    public static async Task<string> RunSelfAsync(IReadOnlyList<string> args, string prefix, string what, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot find the bench executable to start a child.");
        psi.FileName = self;
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            psi.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        foreach (string a in args) psi.ArgumentList.Add(a);

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {self}.");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        Task<string> stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        string output = await stdout;
        string? line = output.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        if (process.ExitCode != 0 || line is null)
            throw new InvalidOperationException($"Measuring child failed (exit {process.ExitCode}) for {what}: {(await stderr).Trim()}");
        return line[prefix.Length..];
    }

    /// <summary>The child side: runs in a fresh process and prints one result line.</summary>
    public static int Execute(ChildRequest request, TextWriter output)
    {
        long baseline = ProcessMemory.CurrentRssBytes();
        long start = Stopwatch.GetTimestamp();
        Model? model = null;
        Tokenizer? tokenizer = null;
        LocalLlmEngine? engine = null;
        try
        {
            IGenerationRunner runner;
            if (request.LocalLlm)
            {
                engine = new LocalLlmEngine(request.Model);
                tokenizer = engine.Tokenizer;
                runner = engine.Runner();
            }
            else
            {
                model = new Model(request.Model);
                tokenizer = new Tokenizer(model);
                runner = new RawLoopRunner(model, tokenizer, SearchSettings.Greedy);
            }
            double loadMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            long loaded = ProcessMemory.CurrentRssBytes();

            string prompt = PromptBuilder.ForTokens(tokenizer, request.PromptTokens);
            var samples = new List<GenerationSample>();
            for (int i = 0; i < request.Warmups + request.Reps; i++)
            {
                // Both runners finish synchronously on this thread's continuations; the child has nothing else to do.
                GenerationSample s = runner.RunAsync(prompt, request.NewTokens, CancellationToken.None).GetAwaiter().GetResult();
                if (i >= request.Warmups)
                    samples.Add(s);
            }
            // The sample's prompt count is what was prefilled (with the chat template for LocalLlm).
            int promptTokens = samples.Count > 0 ? samples[0].PromptTokens : PromptBuilder.Count(tokenizer, prompt);
            var result = new ChildResult(baseline, loaded, ProcessMemory.PeakRssBytes(), ProcessMemory.CurrentRssBytes(), loadMs, promptTokens, samples);
            output.WriteLine(ResultPrefix + JsonSerializer.Serialize(result, s_json));
            return 0;
        }
        finally
        {
            engine?.Dispose();
            if (model is not null)
            {
                tokenizer?.Dispose();
                model.Dispose();
            }
        }
    }
}
