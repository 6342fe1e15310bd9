namespace LocalLlm.Guardrails;

/// <summary>What happens when a check throws.</summary>
public enum GuardrailFailureMode
{
    /// <summary>Treat the failed check as a rejection in category <see cref="GuardrailsOptions.CheckFailedCategory"/> (blocked unless that category's policy says otherwise).</summary>
    FailClosed,

    /// <summary>Treat the failed check as allowing the text.</summary>
    FailOpen,
}

/// <summary>How much of a streamed answer is held back so that checks see it before the caller does.</summary>
public enum GuardrailHoldback
{
    /// <summary>Hold back the last <see cref="GuardrailsOptions.HoldbackCharacters"/> characters.</summary>
    Characters,

    /// <summary>Release whole sentences only (text up to the last <c>. ! ?</c> or newline followed by white space).</summary>
    Sentence,

    /// <summary>Hold back the whole answer until it is complete.</summary>
    Complete,
}

/// <summary>Configures <see cref="GuardrailsChatClient"/>: its checks, per-category policies, fallbacks and streaming.</summary>
public sealed class GuardrailsOptions
{
    /// <summary>The category of a check that threw under <see cref="GuardrailFailureMode.FailClosed"/>.</summary>
    public const string CheckFailedCategory = "guardrails.check_failed";

    /// <summary>The category of a streamed answer a check changed after part of it was released.</summary>
    public const string StreamRewriteCategory = "guardrails.stream_rewrite";

    /// <summary>
    /// Gets the checks run on every untrusted text of a request: the text of each message whose role is not in
    /// <see cref="TrustedRoles"/> (the whole history, since a stateless client sends earlier turns again and can forge
    /// them), each tool result and each tool call's arguments. A text already checked by an earlier request is not
    /// checked again: its outcome comes from a bounded cache.
    /// </summary>
    public IList<IGuardrailCheck> InputChecks { get; } = [];

    /// <summary>Gets the roles whose messages are trusted and never checked (their tool results and calls are still checked).</summary>
    /// <value>Defaults to <c>system</c>: the app writes its system messages. Add <c>assistant</c> only when no client can supply assistant turns.</value>
    public ISet<string> TrustedRoles { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "system" };

    /// <summary>Gets the checks run on the answer.</summary>
    public IList<IGuardrailCheck> OutputChecks { get; } = [];

    /// <summary>Gets the policy per category. <c>pii.email</c> uses the policy of <c>pii</c> when it has none of its own.
    /// A category without a policy blocks on rejection and redacts on modification.</summary>
    public IDictionary<string, GuardrailPolicy> Policies { get; } = new Dictionary<string, GuardrailPolicy>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Gets or sets the answer given when a request or answer is blocked and its category has no fallback.</summary>
    /// <value>Defaults to a short refusal.</value>
    public string DefaultFallback { get; set; } = "Sorry, I can't help with that request.";

    /// <summary>Gets or sets what happens when a check throws.</summary>
    /// <value>Defaults to <see cref="GuardrailFailureMode.FailClosed"/>.</value>
    public GuardrailFailureMode FailureMode { get; set; } = GuardrailFailureMode.FailClosed;

    /// <summary>Gets or sets how a streamed answer is held back.</summary>
    /// <value>Defaults to <see cref="GuardrailHoldback.Characters"/>.</value>
    public GuardrailHoldback Holdback { get; set; } = GuardrailHoldback.Characters;

    /// <summary>Gets or sets how many characters are held back in <see cref="GuardrailHoldback.Characters"/> mode; at least the longest text a check must see whole (an IBAN with spaces is 42).</summary>
    /// <value>Defaults to 64.</value>
    public int HoldbackCharacters { get; set; } = 64;

    /// <summary>Adds a check on input messages.</summary>
    /// <param name="check">The check.</param>
    /// <returns>These options.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="check"/> is <see langword="null"/>.</exception>
    public GuardrailsOptions AddInputCheck(IGuardrailCheck check)
    {
        ArgumentNullException.ThrowIfNull(check);
        InputChecks.Add(check);
        return this;
    }

    /// <summary>Adds a check on answers.</summary>
    /// <param name="check">The check.</param>
    /// <returns>These options.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="check"/> is <see langword="null"/>.</exception>
    public GuardrailsOptions AddOutputCheck(IGuardrailCheck check)
    {
        ArgumentNullException.ThrowIfNull(check);
        OutputChecks.Add(check);
        return this;
    }

    /// <summary>Sets the policy of a category.</summary>
    /// <param name="category">The category (case-insensitive), for example <c>prompt_attack</c>.</param>
    /// <param name="action">What to do.</param>
    /// <param name="fallback">The answer given instead when blocked; <see langword="null"/> uses <see cref="DefaultFallback"/>.</param>
    /// <returns>These options.</returns>
    /// <exception cref="ArgumentException"><paramref name="category"/> is empty, or <paramref name="action"/> is <see cref="GuardrailAction.Allow"/>.</exception>
    public GuardrailsOptions SetPolicy(string category, GuardrailAction action, string? fallback = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(category);
        if (action == GuardrailAction.Allow || !Enum.IsDefined(action))
            throw new ArgumentException($"Policy action {action} is not one of Block, Redact, Flag, Escalate.", nameof(action));
        Policies[category] = new GuardrailPolicy(action, fallback);
        return this;
    }

    /// <summary>Returns the problems with these options, each naming the setting and the fix; empty when valid.</summary>
    /// <returns>The problems found.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(DefaultFallback))
            errors.Add("Guardrails:DefaultFallback is empty; set the answer given when a request is blocked.");
        if (HoldbackCharacters < 1)
            errors.Add($"Guardrails:HoldbackCharacters is {HoldbackCharacters}; use at least 1 (64 holds back any PII the built-in detector finds).");
        if (!Enum.IsDefined(Holdback))
            errors.Add($"Guardrails:Holdback {Holdback} is not one of Characters, Sentence, Complete.");
        if (!Enum.IsDefined(FailureMode))
            errors.Add($"Guardrails:FailureMode {FailureMode} is not one of FailClosed, FailOpen.");
        if (InputChecks.Any(c => c is null) || OutputChecks.Any(c => c is null))
            errors.Add("Guardrails: a check is null; add check instances only.");
        foreach (var (category, policy) in Policies)
        {
            if (policy is null || policy.Action == GuardrailAction.Allow || !Enum.IsDefined(policy.Action))
                errors.Add($"Guardrails:Policies:{category} has no action; use Block, Redact, Flag or Escalate.");
            else if (policy.Fallback is { } f && string.IsNullOrWhiteSpace(f))
                errors.Add($"Guardrails:Policies:{category} has an empty fallback; give an answer or leave it null for the default.");
        }
        return errors;
    }

    internal GuardrailPolicy PolicyFor(string category, GuardrailVerdictKind kind) =>
        Find(category) ?? (kind == GuardrailVerdictKind.Modify ? s_redact : s_block);

    internal string FallbackFor(string category) =>
        (Find(category)?.Fallback ?? DefaultFallback).Replace("{category}", category, StringComparison.Ordinal);

    // "pii.email" falls back to the policy of "pii": one policy can cover a family of categories.
    private GuardrailPolicy? Find(string category)
    {
        for (string? c = category; c is not null; c = c.LastIndexOf('.') is > 0 and var dot ? c[..dot] : null)
        {
            if (Policies.TryGetValue(c, out var policy))
                return policy;
        }
        return null;
    }

    private static readonly GuardrailPolicy s_block = new(GuardrailAction.Block);
    private static readonly GuardrailPolicy s_redact = new(GuardrailAction.Redact);
}
