using Microsoft.Extensions.AI;

namespace LocalLlm;

/// <summary>
/// Typed helpers for ONNX Runtime GenAI settings that <see cref="ChatOptions"/> has no property for. They write
/// to <see cref="ChatOptions.AdditionalProperties"/> under the keys in <see cref="LocalLlmOptionKeys"/>; other
/// clients ignore them.
/// </summary>
public static class LocalLlmChatOptionsExtensions
{
    /// <summary>Penalises tokens already in the sequence (ORT GenAI <c>repetition_penalty</c>; 1 = off, &gt; 1 penalises).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive and finite.</exception>
    public static ChatOptions WithRepetitionPenalty(this ChatOptions options, double penalty)
    {
        if (!double.IsFinite(penalty) || penalty <= 0) throw new ArgumentOutOfRangeException(nameof(penalty), penalty, "repetition_penalty must be a positive number (1 = off).");
        return Set(options, LocalLlmOptionKeys.RepetitionPenalty, penalty);
    }

    /// <summary>Forbids repeating any n-gram of this size (ORT GenAI <c>no_repeat_ngram_size</c>; 0 = off).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is negative.</exception>
    public static ChatOptions WithNoRepeatNgramSize(this ChatOptions options, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        return Set(options, LocalLlmOptionKeys.NoRepeatNgramSize, size);
    }

    /// <summary>Beam search with this many beams (non-streaming; 1 = off).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The count is below 1.</exception>
    public static ChatOptions WithNumBeams(this ChatOptions options, int beams)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(beams, 1);
        return Set(options, LocalLlmOptionKeys.NumBeams, beams);
    }

    /// <summary>Beam-search length penalty (ORT GenAI <c>length_penalty</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not finite.</exception>
    public static ChatOptions WithLengthPenalty(this ChatOptions options, double penalty)
    {
        if (!double.IsFinite(penalty)) throw new ArgumentOutOfRangeException(nameof(penalty), penalty, "length_penalty must be finite.");
        return Set(options, LocalLlmOptionKeys.LengthPenalty, penalty);
    }

    /// <summary>Stop beam search when enough beams have finished (ORT GenAI <c>early_stopping</c>).</summary>
    public static ChatOptions WithEarlyStopping(this ChatOptions options, bool earlyStopping = true) =>
        Set(options, LocalLlmOptionKeys.EarlyStopping, earlyStopping);

    /// <summary>Generate at least this many output tokens before end-of-sequence is allowed.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The count is negative.</exception>
    public static ChatOptions WithMinOutputTokens(this ChatOptions options, int tokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        return Set(options, LocalLlmOptionKeys.MinOutputTokens, tokens);
    }

    /// <summary>Constrains output to a regular expression (llguidance, compiled into the ORT GenAI runtime).</summary>
    /// <exception cref="ArgumentException">The pattern is empty.</exception>
    public static ChatOptions WithRegexGrammar(this ChatOptions options, string regex)
    {
        ArgumentException.ThrowIfNullOrEmpty(regex);
        return Set(options, LocalLlmOptionKeys.RegexGrammar, regex);
    }

    /// <summary>Constrains output to a Lark grammar (llguidance syntax).</summary>
    /// <exception cref="ArgumentException">The grammar is empty.</exception>
    public static ChatOptions WithLarkGrammar(this ChatOptions options, string grammar)
    {
        ArgumentException.ThrowIfNullOrEmpty(grammar);
        return Set(options, LocalLlmOptionKeys.LarkGrammar, grammar);
    }

    /// <summary>Records the log-probability of every output token; read it with <see cref="LocalLlmResponseExtensions.GetTokenLogProbabilities(ChatResponse)"/>.</summary>
    public static ChatOptions WithLogProbabilities(this ChatOptions options, bool enabled = true) =>
        Set(options, LocalLlmOptionKeys.LogProbabilities, enabled);

    /// <summary>Asks for several candidate answers in one response (non-streaming): one assistant message each.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The count is below 1.</exception>
    public static ChatOptions WithCandidateCount(this ChatOptions options, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return Set(options, LocalLlmOptionKeys.CandidateCount, count);
    }

    /// <summary>
    /// Runs the request under the LoRA adapter <paramref name="name"/>, one of the client's
    /// <see cref="LocalLlmChatClientOptions.Adapters"/>; an unknown name fails the request with an
    /// <see cref="ArgumentException"/> listing the known ones.
    /// </summary>
    /// <exception cref="ArgumentException">The name is null or empty.</exception>
    public static ChatOptions WithAdapter(this ChatOptions options, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return Set(options, LocalLlmOptionKeys.Adapter, name);
    }

    private static ChatOptions Set(ChatOptions options, string key, object value)
    {
        ArgumentNullException.ThrowIfNull(options);
        (options.AdditionalProperties ??= [])[key] = value;
        return options;
    }
}

/// <summary>The <see cref="ChatOptions.AdditionalProperties"/> keys LocalLlm reads.</summary>
public static class LocalLlmOptionKeys
{
    /// <summary>double: ORT GenAI repetition_penalty.</summary>
    public const string RepetitionPenalty = "localllm.repetition_penalty";

    /// <summary>int: ORT GenAI no_repeat_ngram_size.</summary>
    public const string NoRepeatNgramSize = "localllm.no_repeat_ngram_size";

    /// <summary>int: ORT GenAI num_beams.</summary>
    public const string NumBeams = "localllm.num_beams";

    /// <summary>double: ORT GenAI length_penalty.</summary>
    public const string LengthPenalty = "localllm.length_penalty";

    /// <summary>bool: ORT GenAI early_stopping.</summary>
    public const string EarlyStopping = "localllm.early_stopping";

    /// <summary>int: minimum output tokens (ORT GenAI min_length, counted from the end of the prompt).</summary>
    public const string MinOutputTokens = "localllm.min_output_tokens";

    /// <summary>string: llguidance regex.</summary>
    public const string RegexGrammar = "localllm.regex";

    /// <summary>string: llguidance Lark grammar.</summary>
    public const string LarkGrammar = "localllm.lark";

    /// <summary>bool: record per-token log-probabilities.</summary>
    public const string LogProbabilities = "localllm.logprobs";

    /// <summary>int: candidate answers per request.</summary>
    public const string CandidateCount = "localllm.candidates";

    /// <summary>string: the LoRA adapter (a name in <see cref="LocalLlmChatClientOptions.Adapters"/>).</summary>
    public const string Adapter = "localllm.adapter";
}
