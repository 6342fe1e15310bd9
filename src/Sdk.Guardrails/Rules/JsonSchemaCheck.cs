using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace LocalLlm.Guardrails.Rules;

/// <summary>
/// Rejects structured output that is not valid JSON or does not match its JSON schema (category <c>json_schema</c>).
/// The schema is the one given here, else the request's <c>ChatOptions.ResponseFormat</c> schema; without either,
/// the check only applies when the request asked for JSON, and then only checks that the answer parses.
/// In a stream the answer is held back until complete, since a JSON prefix can't be validated.
/// </summary>
public sealed class JsonSchemaCheck : IGuardrailCheck
{
    private readonly JsonSchema? _schema;

    /// <summary>Initializes a new instance of the <see cref="JsonSchemaCheck"/> class.</summary>
    /// <param name="schema">The schema; <see langword="null"/> to use the request's response format.</param>
    /// <exception cref="ArgumentException"><paramref name="schema"/> is not a JSON schema.</exception>
    public JsonSchemaCheck(JsonElement? schema = null)
    {
        if (schema is { } s)
            _schema = Parse(s, nameof(schema));
    }

    /// <inheritdoc />
    public string Name => "json_schema";

    /// <inheritdoc />
    public GuardrailCost Cost => GuardrailCost.Cheap;

    /// <inheritdoc />
    public bool NeedsCompleteText(ChatOptions? options) => _schema is not null || options?.ResponseFormat is ChatResponseFormatJson;

    /// <inheritdoc />
    public ValueTask<GuardrailVerdict> CheckAsync(GuardrailContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var format = context.Options?.ResponseFormat as ChatResponseFormatJson;
        if (context.IsPartial || (_schema is null && format is null))
            return new(GuardrailVerdict.Allow);

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(context.Text);
        }
        catch (JsonException ex)
        {
            return new(GuardrailVerdict.Reject("json_schema", 1, $"Not valid JSON (line {ex.LineNumber}, byte {ex.BytePositionInLine})."));
        }
        var schema = _schema ?? (format!.Schema is { } s ? Parse(s, "ResponseFormat") : null);
        if (schema is null)
            return new(GuardrailVerdict.Allow);
        var result = schema.Evaluate(node, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid)
            return new(GuardrailVerdict.Allow);
        // Report where it failed (JSON pointers into the instance), not the values.
        string where = string.Join(", ", (result.Details ?? []).Where(d => !d.IsValid && d.HasErrors).Select(d => d.InstanceLocation.ToString()).Distinct().Take(3));
        return new(GuardrailVerdict.Reject("json_schema", 1, $"Does not match the schema at {(where.Length == 0 ? "/" : where)}."));
    }

    private static JsonSchema Parse(JsonElement schema, string what)
    {
        try
        {
            return JsonSchema.FromText(schema.GetRawText());
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
        {
            throw new ArgumentException($"The {what} JSON schema can't be read: {ex.Message}", nameof(schema), ex);
        }
    }
}
