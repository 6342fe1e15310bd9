using System.Globalization;
using System.Text.RegularExpressions;

namespace LocalLlm.Guardrails.Judges;

/// <summary>
/// Asks any chat model to label a text <c>safe</c> or <c>unsafe S&lt;n&gt;</c> with Llama-Guard-style categories.
/// The answer is constrained by a guidance regular expression (<c>ChatOptions.WithRegexGrammar</c>; clients without
/// guidance ignore it and are parsed all the same). Rejects in category <c>unsafe.&lt;category&gt;</c>.
/// </summary>
public sealed partial class LlmJudgeCheck : IGuardrailCheck
{
    /// <summary>The Llama Guard 3 hazard categories, by code.</summary>
    public static IReadOnlyDictionary<string, string> DefaultCategories { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["S1"] = "Violent Crimes",
        ["S2"] = "Non-Violent Crimes",
        ["S3"] = "Sex-Related Crimes",
        ["S4"] = "Child Sexual Exploitation",
        ["S5"] = "Defamation",
        ["S6"] = "Specialized Advice",
        ["S7"] = "Privacy",
        ["S8"] = "Intellectual Property",
        ["S9"] = "Indiscriminate Weapons",
        ["S10"] = "Hate",
        ["S11"] = "Suicide & Self-Harm",
        ["S12"] = "Sexual Content",
        ["S13"] = "Elections",
        ["S14"] = "Code Interpreter Abuse",
    };

    private readonly IChatClient _judge;
    private readonly IReadOnlyDictionary<string, string> _categories;
    private readonly string _system;

    /// <summary>Initializes a new instance of the <see cref="LlmJudgeCheck"/> class.</summary>
    /// <param name="judge">The model that labels texts (any <see cref="IChatClient"/>; not the pipeline being guarded).</param>
    /// <param name="categories">Category code (S1, S2, ...) to name; <see langword="null"/> for <see cref="DefaultCategories"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="judge"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A category code is not S followed by a number, or a name is empty.</exception>
    public LlmJudgeCheck(IChatClient judge, IReadOnlyDictionary<string, string>? categories = null)
    {
        ArgumentNullException.ThrowIfNull(judge);
        _judge = judge;
        _categories = categories ?? DefaultCategories;
        if (_categories.Count == 0 || _categories.Any(c => !CodeRegex().IsMatch(c.Key) || string.IsNullOrWhiteSpace(c.Value)))
            throw new ArgumentException("Categories are codes S1, S2, ... with non-empty names.", nameof(categories));
        // The answer grammar: exactly "safe", or "unsafe" and one known code.
        Grammar = "(safe|unsafe (" + string.Join("|", _categories.Keys.Select(k => k.ToUpperInvariant()).OrderByDescending(k => k.Length)) + "))";
        _system = "You are a content safety classifier. Decide whether the text in <text> tags violates one of these categories:\n"
            + string.Join("\n", _categories.Select(c => $"{c.Key.ToUpperInvariant()}: {c.Value}"))
            + "\nAnswer with exactly one line: 'safe', or 'unsafe' followed by the category code, for example 'unsafe S1'.";
    }

    /// <inheritdoc />
    public string Name => "llm_judge";

    /// <inheritdoc />
    public GuardrailCost Cost => GuardrailCost.Expensive;

    /// <summary>Gets the guidance regular expression the judge's answer is held to.</summary>
    public string Grammar { get; }

    /// <summary>Gets or sets the most tokens the judge may answer with.</summary>
    /// <value>Defaults to 8 ("unsafe S14" is at most a few tokens in any tokenizer).</value>
    public int MaxOutputTokens { get; set; } = 8;

    /// <summary>Returns the category a judge's answer names: <c>unsafe.&lt;name&gt;</c>, or <see langword="null"/> for <c>safe</c>.</summary>
    /// <param name="answer">The judge's answer.</param>
    /// <returns>The category, or <see langword="null"/> when safe.</returns>
    /// <exception cref="FormatException">The answer is neither <c>safe</c> nor <c>unsafe</c> with a known code.</exception>
    public string? ParseAnswer(string answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var m = AnswerRegex().Match(answer);
        if (!m.Success)
            throw new FormatException($"The judge answered with {answer.Length} characters that are not 'safe' or 'unsafe S<n>'.");
        if (!m.Groups["code"].Success)
            return null;
        string code = m.Groups["code"].Value.ToUpperInvariant();
        if (!_categories.TryGetValue(code, out string? name))
            throw new FormatException($"The judge named category {code}, which is not configured.");
        return "unsafe." + Slug(name);
    }

    /// <inheritdoc />
    public async ValueTask<GuardrailVerdict> CheckAsync(GuardrailContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        string role = context.Stage == GuardrailStage.Input ? "a user's message" : "an assistant's answer";
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = MaxOutputTokens }.WithRegexGrammar(Grammar);
        var response = await _judge.GetResponseAsync(
            [
                new ChatMessage(ChatRole.System, _system),
                new ChatMessage(ChatRole.User, $"Classify {role}:\n<text>\n{context.Text}\n</text>"),
            ], options, cancellationToken);
        string? category = ParseAnswer(response.Text);
        return category is null ? GuardrailVerdict.Allow : GuardrailVerdict.Reject(category, 1, "The judge model labelled it unsafe.");
    }

    private static string Slug(string name) =>
        string.Join("_", name.ToLower(CultureInfo.InvariantCulture).Split([' ', '-', '&', '/'], StringSplitOptions.RemoveEmptyEntries));

    [GeneratedRegex(@"^S\d{1,2}$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CodeRegex();

    [GeneratedRegex(@"^\s*(?:safe\b|unsafe\b[\s:,-]*(?<code>S\d{1,2})\b)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AnswerRegex();
}
