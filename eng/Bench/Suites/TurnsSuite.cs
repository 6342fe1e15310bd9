namespace LocalLlm.Bench.Suites;

/// <summary>
/// Multi-turn chat: keep the generator and its KV cache (rewind to the common token prefix, append the rest) vs
/// prefill the whole conversation again every turn.
/// </summary>
internal sealed class TurnsSuite : ISuite
{
    public string Name => "turns";

    public string Description => "multi-turn: KV reuse (rewind + append) vs re-prefill";

    public async Task<SuiteResult> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        BenchModel bm = context.Models.Primary();
        int turns = context.Quick ? 3 : 4, userTokens = context.Quick ? 16 : 64, replyTokens = context.Quick ? 8 : 16, reps = context.Reps(2);
        using var model = new Model(bm.Folder);
        using var tokenizer = new Tokenizer(model);
        string user = PromptBuilder.ForTokens(tokenizer, userTokens);

        var reuse = new List<double>[turns];
        var fresh = new List<double>[turns];
        var history = new int[turns];
        for (int t = 0; t < turns; t++)
        {
            reuse[t] = [];
            fresh[t] = [];
        }
        string? reuseFailure = null;
        for (int rep = -1; rep < reps; rep++)
        {
            context.Log($"turns: repetition {rep + 2}/{reps + 1}");
            if (reuseFailure is null)
            {
                try
                {
                    Conversation(model, tokenizer, user, turns, replyTokens, reuseKv: true, rep < 0 ? null : reuse, history, cancellationToken);
                }
                catch (OnnxRuntimeGenAIException ex)
                {
                    // Some exported graphs cannot append several tokens to an existing cache: report it, keep measuring re-prefill.
                    reuseFailure = ex.Message.ReplaceLineEndings(" ");
                }
            }
            Conversation(model, tokenizer, user, turns, replyTokens, reuseKv: false, rep < 0 ? null : fresh, history, cancellationToken);
        }

        var table = new MarkdownTable("turn", "conversation tokens", "TTFT with KV reuse ms", "TTFT re-prefill ms", "speed-up");
        for (int t = 0; t < turns; t++)
        {
            double a = Summary.Of(reuse[t]).Median, b = Summary.Of(fresh[t]).Median;
            table.Row((t + 1).ToString(), history[t].ToString(), F(a), F(b), F(b / a, "0.0") + "×");
        }
        context.Findings["turns.last.reuse"] = Summary.Of(reuse[^1]).Median;
        context.Findings["turns.last.fresh"] = Summary.Of(fresh[^1]).Median;
        double[] x = history.Select(h => (double)h).ToArray();
        string plot = Plots.Lines(context.PlotPath("turns"), "Time to first token per turn", "conversation tokens", "ms",
            [("KV reuse (rewind + append)", x, reuse.Select(r => Summary.Of(r).Median).ToArray()), ("re-prefill", x, fresh.Select(r => Summary.Of(r).Median).ToArray())]);
        var md = new StringBuilder();
        md.AppendLine($"Model: {bm.Name}. {turns} turns of a {userTokens}-token user message and a {replyTokens}-token reply, rendered with the model's chat template each turn. Reuse keeps one ORT GenAI Generator: `RewindTo` the longest common token prefix of the cached sequence and the new prompt, then `AppendTokens` the rest. Re-prefill creates a new Generator per turn. Measured on the raw generator.");
        if (reuseFailure is not null)
            md.AppendLine($"KV reuse failed on this model folder, so only re-prefill is measured: `{reuseFailure}`");
        md.AppendLine();
        md.AppendLine(table.ToString());
        md.AppendLine($"![turns]({Path.GetFileName(plot)})");
        md.AppendLine();
        md.AppendLine(await ClientTurnAsync(context, bm, tokenizer, cancellationToken));
        return new SuiteResult("Turns: KV-cache reuse vs re-prefill", md.ToString(), [plot]);
    }

    /// <summary>
    /// The same trade-off through LocalLlmChatClient as an app uses it: stateless chat (the whole history is sent each
    /// turn), the next turn after a long history, with conversation reuse on (the default) and off.
    /// </summary>
    private static async Task<string> ClientTurnAsync(BenchContext context, BenchModel bm, Tokenizer tokenizer, CancellationToken cancellationToken)
    {
        int historyTokens = context.Quick ? 200 : 2000, reps = context.Reps(5);
        using var model = LocalModel.Load(bm.Folder);
        using var reusing = new LocalLlmChatClient(model);
        using var fresh = new LocalLlmChatClient(model, new LocalLlmChatClientOptions { EnableKvCacheReuse = false });
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 8 };
        var withReuse = new List<double>();
        var without = new List<double>();
        var reused = new List<double>();
        int promptTokens = 0;
        for (int rep = -1; rep < reps; rep++) // -1 warms up
        {
            // A different history each repetition, so nothing is reused across repetitions.
            var history = new List<ChatMessage> { new(ChatRole.User, $"story {rep}: " + PromptBuilder.ForTokens(tokenizer, historyTokens)) };
            history.AddRange((await reusing.GetResponseAsync(history, options, cancellationToken)).Messages);
            history.Add(new ChatMessage(ChatRole.User, "And then what happened next?"));
            GenerationStats a = (await reusing.GetResponseAsync(history, options, cancellationToken)).GetGenerationStats()!;
            GenerationStats b = (await fresh.GetResponseAsync(history, options, cancellationToken)).GetGenerationStats()!;
            context.Log($"turns: client repetition {rep + 2}/{reps + 1}");
            if (rep < 0)
                continue;
            withReuse.Add(a.TimeToFirstToken.TotalMilliseconds);
            without.Add(b.TimeToFirstToken.TotalMilliseconds);
            reused.Add(a.ReusedPromptTokens);
            promptTokens = a.PromptTokens;
        }
        double ratio = Summary.Of(withReuse).Median / Summary.Of(without).Median;
        context.Findings["turns.client.ratio"] = ratio;
        var table = new MarkdownTable("LocalLlmChatClient", "prompt tokens", "reused tokens median", "TTFT median ms", "TTFT p95 ms");
        table.Row("conversation reuse on (default)", promptTokens.ToString(), F(Summary.Of(reused).Median, "0"), F(Summary.Of(withReuse).Median), F(Summary.Of(withReuse).P95));
        table.Row("EnableKvCacheReuse = false", promptTokens.ToString(), "0", F(Summary.Of(without).Median), F(Summary.Of(without).P95));
        return $"Through the client: the turn after a {historyTokens}-token history (stateless chat: the whole history is sent again and matched by token prefix), warm-up 1, median of {reps}. " +
            $"TTFT with reuse ÷ full re-prefill = **{ratio:0.000}**.\n\n{table}";
    }

    private static void Conversation(Model model, Tokenizer tokenizer, string user, int turns, int replyTokens, bool reuseKv,
        List<double>[]? ttft, int[] history, CancellationToken cancellationToken)
    {
        var messages = new List<Dictionary<string, string>>();
        Generator? kept = null;
        GeneratorParams? keptParams = null;
        try
        {
            for (int t = 0; t < turns; t++)
            {
                messages.Add(new() { ["role"] = "user", ["content"] = $"turn {t}: {user}" });
                long start = Stopwatch.GetTimestamp();
                string text = tokenizer.ApplyChatTemplate(null, System.Text.Json.JsonSerializer.Serialize(messages), null, true);
                using Sequences seq = tokenizer.Encode(text);
                int[] prompt = seq[0].ToArray();
                Generator g;
                if (reuseKv && kept is not null)
                {
                    ReadOnlySpan<int> cached = kept.GetSequence(0);
                    int common = 0;
                    while (common < cached.Length && common < prompt.Length - 1 && cached[common] == prompt[common])
                        common++;
                    kept.RewindTo((ulong)common);
                    kept.AppendTokens(prompt.AsSpan(common));
                    g = kept;
                }
                else
                {
                    keptParams?.Dispose();
                    kept?.Dispose();
                    keptParams = new GeneratorParams(model);
                    int maxLength = (turns * (user.Length + replyTokens + 64)) + 256;
                    keptParams.SetSearchOption("max_length", maxLength);
                    keptParams.SetSearchOption("min_length", maxLength); // random weights must not stop early on EOS
                    keptParams.SetSearchOption("do_sample", false);
                    g = new Generator(model, keptParams);
                    kept = g;
                    g.AppendTokens(prompt);
                }
                var reply = new List<int>();
                using TokenizerStream stream = tokenizer.CreateStream();
                for (int i = 0; i < replyTokens; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    g.GenerateNextToken();
                    int token = g.GetNextTokens()[0];
                    reply.Add(token);
                    _ = stream.Decode(token);
                    if (i == 0 && ttft is not null)
                        ttft[t].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                history[t] = prompt.Length;
                messages.Add(new() { ["role"] = "assistant", ["content"] = tokenizer.Decode(reply.ToArray()) });
                if (!reuseKv)
                {
                    kept.Dispose();
                    kept = null;
                }
            }
        }
        finally
        {
            kept?.Dispose();
            keptParams?.Dispose();
        }
    }
}
