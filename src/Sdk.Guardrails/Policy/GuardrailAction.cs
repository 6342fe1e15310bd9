namespace LocalLlm.Guardrails;

/// <summary>What the pipeline does when a check modifies or rejects a text.</summary>
public enum GuardrailAction
{
    /// <summary>Nothing happened (the check allowed the text).</summary>
    Allow,

    /// <summary>Replace the answer by the category's fallback template; the response's finish reason is ContentFilter.</summary>
    Block,

    /// <summary>Apply the check's edits (a rejection without edits is blocked instead).</summary>
    Redact,

    /// <summary>Let the text through unchanged and annotate the response.</summary>
    Flag,

    /// <summary>Let the text through unchanged and mark the response for a routing layer to escalate (an <see cref="EscalationMarker"/> whose reason is the category).</summary>
    Escalate,
}

/// <summary>How a category is handled.</summary>
public sealed class GuardrailPolicy
{
    /// <summary>Initializes a new instance of the <see cref="GuardrailPolicy"/> class (for configuration binding).</summary>
    public GuardrailPolicy()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="GuardrailPolicy"/> class.</summary>
    /// <param name="action">What to do.</param>
    /// <param name="fallback">The answer given instead when blocked; <see langword="null"/> uses <see cref="GuardrailsOptions.DefaultFallback"/>. <c>{category}</c> is replaced by the category.</param>
    public GuardrailPolicy(GuardrailAction action, string? fallback = null)
    {
        Action = action;
        Fallback = fallback;
    }

    /// <summary>Gets or sets what to do.</summary>
    public GuardrailAction Action { get; set; }

    /// <summary>Gets or sets the fallback template used when blocked, or <see langword="null"/> for the default.</summary>
    public string? Fallback { get; set; }
}

/// <summary>One thing a check found, as reported on the response.</summary>
/// <param name="Stage">Input or output.</param>
/// <param name="Check">The check's name.</param>
/// <param name="Category">The category.</param>
/// <param name="Action">What the pipeline did.</param>
/// <param name="Score">The check's confidence, 0 to 1.</param>
/// <param name="Reason">The check's reason (never the checked text).</param>
public sealed record GuardrailFinding(GuardrailStage Stage, string Check, string Category, GuardrailAction Action, double Score, string? Reason);

/// <summary>Keys the guardrails put in <c>ChatResponse.AdditionalProperties</c> (and the last streamed update's).</summary>
public static class GuardrailsPropertyNames
{
    /// <summary>The name of the check that blocked the response (string).</summary>
    public const string Check = "localllm.guardrails.check";

    /// <summary>The category that blocked the response (string).</summary>
    public const string Category = "localllm.guardrails.category";

    /// <summary>The stage that blocked the response, <c>input</c> or <c>output</c> (string).</summary>
    public const string Stage = "localllm.guardrails.stage";

    /// <summary>Every finding that changed, flagged, escalated or blocked the response (<see cref="GuardrailFinding"/>[]).</summary>
    public const string Findings = "localllm.guardrails.findings";

    /// <summary>The flagged categories (string[]), present when a check flagged the response.</summary>
    public const string Flags = "localllm.guardrails.flags";
}
