using System.Text.Json;
using LocalLlm.Guardrails.Rules;

namespace LocalLlm.Guardrails.Tests;

public class RuleCheckTests
{
    private static GuardrailVerdict Run(IGuardrailCheck check, string text, ChatOptions? options = null, bool partial = false) =>
        check.CheckAsync(new GuardrailContext(GuardrailStage.Output, text) { Options = options, IsPartial = partial }).AsTask().GetAwaiter().GetResult();

    [Fact]
    public void Blocklist_WholeWordsAndPhrasesCaseInsensitive()
    {
        var check = new BlocklistCheck(["darn", "bad  phrase"], "profanity");
        Assert.Equal(GuardrailVerdictKind.Reject, Run(check, "Oh DARN it").Kind);
        Assert.Equal("profanity", Run(check, "a bad\nphrase here").Category);
        Assert.Equal(GuardrailVerdictKind.Allow, Run(check, "darned socks").Kind); // not a whole word
    }

    [Fact]
    public void Regex_RejectsOrRedacts()
    {
        Assert.Equal(GuardrailVerdictKind.Reject, Run(new RegexCheck([@"\bproject\s+falcon\b"], "internal"), "About Project  Falcon...").Kind);
        var redacted = Run(new RegexCheck([@"\bEMP-\d{5}\b"], "employee_id", "[EMPLOYEE]"), "ids EMP-12345 and EMP-67890");
        Assert.Equal(GuardrailVerdictKind.Modify, redacted.Kind);
        Assert.Equal(2, redacted.Edits.Count);
        Assert.Throws<ArgumentException>("patterns", () => new RegexCheck(["(unclosed"]));
    }

    [Fact]
    public void Topic_NeedsMinimumHitsAndReportsTheTopic()
    {
        var check = new TopicCheck(new Dictionary<string, string[]> { ["medical"] = ["diagnos*", "prescription", "dosage"] }, minimumHits: 2);
        Assert.Equal(GuardrailVerdictKind.Allow, Run(check, "What dosage is normal?").Kind);
        var verdict = Run(check, "Can you diagnose me and write a prescription?");
        Assert.Equal("topic.medical", verdict.Category);
    }

    [Fact]
    public void MaxLength_RejectsLongerText()
    {
        Assert.Equal(GuardrailVerdictKind.Allow, Run(new MaxLengthCheck(5), "12345").Kind);
        Assert.Equal("length", Run(new MaxLengthCheck(5), "123456").Category);
        Assert.Throws<ArgumentOutOfRangeException>("maxCharacters", () => new MaxLengthCheck(0));
    }

    [Fact]
    public void JsonSchema_ValidatesAgainstTheRequestSchema()
    {
        var schema = JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}""").RootElement;
        var options = new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(schema, "place") };
        var check = new JsonSchemaCheck();

        Assert.True(check.NeedsCompleteText(options));
        Assert.False(check.NeedsCompleteText(new ChatOptions()));
        Assert.Equal(GuardrailVerdictKind.Allow, Run(check, """{"city":"Paris"}""", options).Kind);
        Assert.Equal(GuardrailVerdictKind.Allow, Run(check, """{"city":""", options, partial: true).Kind);
        // The extra "}" that a guidance run produced on a real model folder: not valid JSON.
        Assert.Contains("Not valid JSON", Run(check, """{"city":"Paris"}}""", options).Reason, StringComparison.Ordinal);
        Assert.Equal("json_schema", Run(check, """{"town":"Paris"}""", options).Category);
        Assert.Equal(GuardrailVerdictKind.Allow, Run(check, "not json at all").Kind); // the request did not ask for JSON
    }

    [Fact]
    public void JsonSchema_GivenSchemaAndBadSchema()
    {
        var check = new JsonSchemaCheck(JsonDocument.Parse("""{"type":"array","items":{"type":"integer"}}""").RootElement);
        Assert.Equal(GuardrailVerdictKind.Allow, Run(check, "[1,2,3]").Kind);
        Assert.Equal(GuardrailVerdictKind.Reject, Run(check, """[1,"two"]""").Kind);
        Assert.Throws<ArgumentException>("schema", () => new JsonSchemaCheck(JsonDocument.Parse("""{"type":12}""").RootElement));
    }

    [Fact]
    public void Constructors_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>("terms", () => new BlocklistCheck(null!));
        Assert.Throws<ArgumentNullException>("patterns", () => new RegexCheck(null!));
        Assert.Throws<ArgumentNullException>("topics", () => new TopicCheck(null!));
        Assert.Throws<ArgumentNullException>("context", () => new MaxLengthCheck(3).CheckAsync(null!).AsTask().GetAwaiter().GetResult());
    }
}
