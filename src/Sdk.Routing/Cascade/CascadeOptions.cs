namespace LocalLlm.Routing.Cascade;

/// <summary>
/// A cascade: the source tier answers first; its answer is kept unless the confidence is below
/// <see cref="MinConfidence"/>, a guardrail marks it for escalation, requested JSON is invalid, or the tier fails
/// (context overflow or any other exception); then the target tier answers.
/// </summary>
/// <remarks>
/// Streaming: the source tier's answer is buffered until it has been checked, so a caller never sees an answer
/// that is later withdrawn; the first update therefore arrives when the small tier has finished.
/// </remarks>
public sealed class CascadeOptions
{
    private double _minConfidence = 0.5;

    /// <summary>Gets or sets the tier that answers first.</summary>
    /// <value>The default is <c>small</c>.</value>
    public string FromTier { get; set; } = "small";

    /// <summary>Gets or sets the tier that answers when the first answer falls short.</summary>
    /// <value>The default is <c>large</c>.</value>
    public string ToTier { get; set; } = "large";

    /// <summary>Gets or sets how the source tier's confidence is measured.</summary>
    /// <value>The default is <see langword="null"/>: no confidence check; only markers, invalid JSON and failures escalate.</value>
    public ConfidenceEstimator? Confidence { get; set; }

    /// <summary>Gets or sets the confidence (0-1) below which the cascade escalates.</summary>
    /// <value>The default is 0.5.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside 0-1.</exception>
    public double MinConfidence
    {
        get => _minConfidence;
        set
        {
            if (double.IsNaN(value) || value is < 0 or > 1)
                throw new ArgumentOutOfRangeException(nameof(value), value, "MinConfidence must be between 0 and 1.");
            _minConfidence = value;
        }
    }

    /// <summary>Gets or sets a value indicating whether an answer whose confidence could not be measured escalates.</summary>
    /// <value>The default is <see langword="true"/>: an unmeasured answer is not trusted.</value>
    public bool EscalateWhenConfidenceUnknown { get; set; } = true;

    /// <summary>Gets or sets the test that tells a context-window overflow from other failures of the source tier (for the recorded reason).</summary>
    /// <value>The default recognises messages that mention the context or prompt being too long.</value>
    public Func<Exception, bool> IsContextOverflow { get; set; } = LooksLikeContextOverflow;

    private static bool LooksLikeContextOverflow(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            string m = e.Message;
            bool mentionsContext = m.Contains("context", StringComparison.OrdinalIgnoreCase) || m.Contains("max_length", StringComparison.OrdinalIgnoreCase) || m.Contains("prompt", StringComparison.OrdinalIgnoreCase);
            bool tooLong = m.Contains("exceed", StringComparison.OrdinalIgnoreCase) || m.Contains("too long", StringComparison.OrdinalIgnoreCase) || m.Contains("overflow", StringComparison.OrdinalIgnoreCase) || m.Contains("longer than", StringComparison.OrdinalIgnoreCase);
            if (mentionsContext && tooLong) return true;
        }
        return false;
    }
}
