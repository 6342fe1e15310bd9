using System.Text.Json;
using Microsoft.Extensions.AI;

namespace LocalLlm;

/// <summary>
/// The one contract by which a pipeline stage (LocalLlm.Guardrails) asks a routing layer above it (LocalLlm.Routing)
/// to have a larger tier answer instead: this value under <see cref="PropertyName"/> in the response's (or the last
/// streamed update's) <c>AdditionalProperties</c>. Both packages depend on this type, so neither can drift from the other.
/// </summary>
/// <param name="Reason">Why, for logs and people (a guardrail category such as <c>low_confidence</c>).</param>
/// <param name="Source">Who asked (for example <c>guardrails</c>).</param>
public sealed record EscalationMarker(string Reason, string Source)
{
    /// <summary>The <c>AdditionalProperties</c> key.</summary>
    public const string PropertyName = "localllm.escalate";

    /// <summary>Puts the marker on a response's or update's properties.</summary>
    /// <param name="properties">The properties to mark.</param>
    /// <exception cref="ArgumentNullException"><paramref name="properties"/> is <see langword="null"/>.</exception>
    public void MarkOn(AdditionalPropertiesDictionary properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        properties[PropertyName] = this;
    }

    /// <summary>Finds the marker on a response: its own properties first, then its messages'.</summary>
    /// <param name="response">The response a stage below answered with.</param>
    /// <returns>The marker, or <see langword="null"/> when nothing asked for escalation.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="response"/> is <see langword="null"/>.</exception>
    public static EscalationMarker? Find(ChatResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return From(response.AdditionalProperties) ?? response.Messages.Select(m => From(m.AdditionalProperties)).FirstOrDefault(m => m is not null);
    }

    /// <summary>Reads the marker from properties, also after a trip through JSON (a remote tier) where it arrives as an object.</summary>
    /// <param name="properties">Properties of a response, message or update; may be <see langword="null"/>.</param>
    /// <returns>The marker, or <see langword="null"/>.</returns>
    public static EscalationMarker? From(AdditionalPropertiesDictionary? properties) =>
        properties?.TryGetValue(PropertyName, out object? value) != true ? null : value switch
        {
            EscalationMarker marker => marker,
            JsonElement { ValueKind: JsonValueKind.Object } json => new(
                json.TryGetProperty("reason", out var r) || json.TryGetProperty(nameof(Reason), out r) ? r.ToString() : "unspecified",
                json.TryGetProperty("source", out var s) || json.TryGetProperty(nameof(Source), out s) ? s.ToString() : "unknown"),
            _ => null,
        };
}
