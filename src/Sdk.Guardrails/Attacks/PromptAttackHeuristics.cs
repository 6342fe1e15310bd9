using System.Text.RegularExpressions;
using LocalLlm.Guardrails.Rules;

namespace LocalLlm.Guardrails.Attacks;

/// <summary>
/// Rules for well-known prompt-attack phrasings: instruction override, jailbreak personas, a forced affirmative
/// opening ("begin your reply with 'Sure, here is'"), and system-prompt extraction. Microseconds; no model.
/// </summary>
public static partial class PromptAttackHeuristics
{
    /// <summary>Returns the name of the first rule a prompt matches, or <see langword="null"/>.</summary>
    /// <param name="text">The prompt.</param>
    /// <returns>The rule's name (never any of the prompt), or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public static string? Match(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (OverrideRegex().IsMatch(text))
            return "instruction_override";
        if (PersonaRegex().IsMatch(text))
            return "jailbreak_persona";
        if (AffirmativeRegex().IsMatch(text))
            return "forced_affirmative";
        if (ExtractionRegex().IsMatch(text))
            return "system_prompt_extraction";
        return null;
    }

    [GeneratedRegex(@"\b(?:ignore|disregard|forget|override|bypass|skip)\b[^.\n]{0,40}?\b(?:previous|prior|preceding|above|earlier|all|any|your|the|these|those|system)\b[^.\n]{0,30}?\b(?:instructions?|rules|guidelines|prompts?|directives|polic(?:y|ies)|restrictions|safeguards|programming)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, RegexLimits.TimeoutMilliseconds)]
    private static partial Regex OverrideRegex();

    [GeneratedRegex(@"\b(?:do anything now|developer mode|jailbr(?:o|ea)ken|jailbreak mode|DAN mode|always intelligent and machiavellian|unfiltered and amoral|no (?:ethical|moral) (?:or moral )?(?:guidelines|restrictions|constraints|principles)|without any (?:ethical |moral )?(?:restrictions|limitations|filters|censorship))\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, RegexLimits.TimeoutMilliseconds)]
    private static partial Regex PersonaRegex();

    [GeneratedRegex(@"\b(?:begin|start)\b[^.\n]{0,40}?\b(?:reply|response|answer|output)\b[^.\n]{0,30}?[""'“‘`]\s*sure,?\s+here\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, RegexLimits.TimeoutMilliseconds)]
    private static partial Regex AffirmativeRegex();

    [GeneratedRegex(@"\b(?:reveal|print|show|repeat|output|display|leak)\b[^.\n]{0,30}?\b(?:system prompt|hidden (?:prompt|instructions)|initial instructions|your instructions verbatim)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, RegexLimits.TimeoutMilliseconds)]
    private static partial Regex ExtractionRegex();
}
