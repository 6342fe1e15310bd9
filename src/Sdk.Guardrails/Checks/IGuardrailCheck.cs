namespace LocalLlm.Guardrails;

/// <summary>One input or output check. Checks are stateless and safe to call concurrently.</summary>
public interface IGuardrailCheck
{
    /// <summary>Gets the name reported in responses, logs and metrics (for example <c>pii</c>).</summary>
    string Name { get; }

    /// <summary>Gets how expensive the check is; cheaper checks run first so they can short-circuit the rest.</summary>
    /// <value>Defaults to <see cref="GuardrailCost.Moderate"/>.</value>
    GuardrailCost Cost => GuardrailCost.Moderate;

    /// <summary>Returns whether this check can only judge complete text (a streamed answer is then held until it ends).</summary>
    /// <param name="options">The request's options.</param>
    /// <returns><see langword="true"/> to hold a streamed answer back until it is complete.</returns>
    bool NeedsCompleteText(ChatOptions? options) => false;

    /// <summary>Checks one text.</summary>
    /// <param name="context">The text and the request it belongs to.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>Allow, modify (edits to the text) or reject.</returns>
    ValueTask<GuardrailVerdict> CheckAsync(GuardrailContext context, CancellationToken cancellationToken = default);
}

/// <summary>How expensive a check is; the pipeline runs cheaper checks first.</summary>
public enum GuardrailCost
{
    /// <summary>Rules and regular expressions: microseconds.</summary>
    Cheap = 0,

    /// <summary>A local classifier: about a millisecond.</summary>
    Moderate = 1,

    /// <summary>A language-model judge: a model call.</summary>
    Expensive = 2,
}

/// <summary>Where a check runs.</summary>
public enum GuardrailStage
{
    /// <summary>On the new input messages, before the model is called.</summary>
    Input,

    /// <summary>On the model's answer.</summary>
    Output,
}
