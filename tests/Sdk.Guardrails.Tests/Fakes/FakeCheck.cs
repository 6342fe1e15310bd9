namespace LocalLlm.Guardrails.Tests;

/// <summary>A check whose verdict the test chooses; records the texts it saw.</summary>
internal sealed class FakeCheck(string name, Func<GuardrailContext, GuardrailVerdict> decide, GuardrailCost cost = GuardrailCost.Moderate) : IGuardrailCheck
{
    public string Name => name;

    public GuardrailCost Cost => cost;

    public List<string> Seen { get; } = [];

    public List<bool> Partial { get; } = [];

    public ValueTask<GuardrailVerdict> CheckAsync(GuardrailContext context, CancellationToken cancellationToken = default)
    {
        lock (Seen)
        {
            Seen.Add(context.Text);
            Partial.Add(context.IsPartial);
        }
        return new(decide(context));
    }

    /// <summary>Rejects text containing the word.</summary>
    public static FakeCheck RejectWord(string word, string category, GuardrailCost cost = GuardrailCost.Moderate, string? name = null) =>
        new(name ?? "reject-" + word, c => c.Text.Contains(word, StringComparison.OrdinalIgnoreCase) ? GuardrailVerdict.Reject(category, 0.9, "word found") : GuardrailVerdict.Allow, cost);

    /// <summary>Replaces each occurrence of the word.</summary>
    public static FakeCheck ReplaceWord(string word, string replacement, string category)
        => new("replace-" + word, c =>
        {
            var edits = new List<TextEdit>();
            for (int i = c.Text.IndexOf(word, StringComparison.Ordinal); i >= 0; i = c.Text.IndexOf(word, i + word.Length, StringComparison.Ordinal))
                edits.Add(new TextEdit(i, word.Length, replacement));
            return GuardrailVerdict.Modify(category, edits);
        }, GuardrailCost.Cheap);
}
