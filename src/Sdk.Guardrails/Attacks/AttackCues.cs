using System.Text.RegularExpressions;

namespace LocalLlm.Guardrails.Attacks;

/// <summary>
/// Structural cues of a prompt attack for the v2 classifier, as opposed to its words: an instruction override
/// (a verb of forgetting near a reference to earlier instructions, in several languages), the announcement of new
/// instructions, urgency, a demand on the assistant's reply, a role or mode switch, a claim of system or developer
/// authority and fake chat-template tags, delimiter runs, secret or prompt extraction, encoded payloads (base64, hex,
/// digits for letters), text outside the English alphabet, second person, and an imperative after other sentences
/// (a change of addressee). Written from general knowledge of injection tactics, not from any dataset row. Each cue
/// is one named feature, log(1 + count) of its matches, hashed into <see cref="AttackNgrams"/>'s buckets beside the
/// n-grams, so the classifier learns how much each kind of structure counts. Linear-time regexes over a bounded text.
/// </summary>
internal static partial class AttackCues
{
    private const RegexOptions Options = RegexOptions.IgnoreCase | RegexOptions.CultureInvariant;

    private static readonly (string Name, Regex Regex)[] s_cues =
    [
        ("override", OverrideRegex()),
        ("instruction-noun", InstructionNounRegex()),
        ("new-instructions", NewInstructionsRegex()),
        ("urgency", UrgencyRegex()),
        ("reply-demand", ReplyDemandRegex()),
        ("role-switch", RoleSwitchRegex()),
        ("authority", AuthorityRegex()),
        ("template-tag", TemplateTagRegex()),
        ("delimiter-run", DelimiterRegex()),
        ("extraction", ExtractionRegex()),
        ("encoding-word", EncodingWordRegex()),
        ("base64", Base64Regex()),
        ("hex", HexRegex()),
        ("leet", LeetRegex()),
        ("second-person", SecondPersonRegex()),
        ("pivot", PivotRegex()),
        ("exfiltration", ExfiltrationRegex()),
        ("restriction-lift", RestrictionLiftRegex()),
    ];

    /// <summary>Calls <paramref name="add"/> with each cue's name and log(1 + count) for the cues <paramref name="text"/> has.</summary>
    /// <param name="text">White-space-collapsed text (as <see cref="AttackNgrams"/> reads it).</param>
    /// <param name="add">Receives a cue's name and value.</param>
    public static void Extract(string text, Action<string, float> add)
    {
        foreach (var (name, regex) in s_cues)
        {
            int n = Count(regex, text);
            if (n > 0)
                add(name, (float)Math.Log(1 + n));
        }
        // Script: letters outside ASCII (other languages, homoglyphs), and non-Latin scripts.
        int letters = 0, nonAscii = 0, nonLatin = 0;
        foreach (char c in text)
        {
            if (!char.IsLetter(c))
                continue;
            letters++;
            if (c > 0x7F)
                nonAscii++;
            if (c >= 0x0370 && !(c >= 0x1E00 && c <= 0x1EFF))
                nonLatin++;
        }
        if (letters > 0)
        {
            if (nonAscii > 0)
                add("non-ascii", (float)Math.Min(1, 10.0 * nonAscii / letters));
            if (nonLatin > 0)
                add("non-latin", (float)Math.Min(1, 2.0 * nonLatin / letters));
        }
        // Sentences after the first that start with an imperative verb (an instruction that turns up after other text:
        // a change of addressee inside a document); the first sentence is most often the user's own request.
        int sentence = 0, later = 0;
        foreach (ValueMatch m in SentenceStartRegex().EnumerateMatches(text))
        {
            if (ImperativeRegex().IsMatch(text.AsSpan(m.Index + m.Length)))
            {
                if (sentence > 0 || m.Index > 0)
                    later++;
            }
            sentence++;
        }
        if (later > 0)
            add("imperative-later", (float)Math.Log(1 + later));
    }

    private static int Count(Regex regex, string text)
    {
        int n = 0;
        foreach (ValueMatch _ in regex.EnumerateMatches(text))
        {
            if (++n == 16)
                break;
        }
        return n;
    }

    private const string Forget = @"(?:ignore|ignoring|disregard|forget|skip|override|overrule|bypass|abandon|discard|neglect|drop|erase|delete|clear|reset|cancel|void|set aside|put aside|sweep aside|leave behind|stop following|no longer follow|vergiss|vergessen|ignorier\w*|missachte\w*|verwirf|olvid\w*|ignor[ae]\w*|oubli\w*|dimentica\w*|zaboravi\w*|negeer|vergeet|esque[çc]a\w*|забудь\w*|игнорируй\w*)";
    private const string Earlier = @"(?:previous|previously|prior|preceding|above|earlier|former|foregoing|before|original|initial|existing|other|all|everything|anything|whatever|vorherig\w*|vorangegangen\w*|obig\w*|bisherig\w*|alle[sn]?|anterior\w*|previas?|todo|todas?|pr[ée]c[ée]dent\w*|tout|toutes|precedent\w*|tutt[oei]|sve|vorige|eerdere|alles|предыдущ\w*|все)";
    private const string Instructions = @"(?:instructions?|directives?|directions|commands?|orders|rules|guidelines|prompts?|programming|constraints|restrictions|polic(?:y|ies)|anweisung\w*|befehl\w*|aufgab\w*|instruktion\w*|regeln|vorgaben|instrucci\w+|[óo]rdenes|reglas|consignes|r[èe]gles|istruzioni|regole|instrukcij\w*|uputstv\w*|instru[çc][õo]es|instructies|инструкци\w*)";

    [GeneratedRegex(@"\b" + Forget + @"\b[^.!?\n]{0,40}?\b" + Earlier + @"\b", Options, 200)]
    private static partial Regex OverrideRegex();

    [GeneratedRegex(@"\b" + Instructions + @"\b", Options, 200)]
    private static partial Regex InstructionNounRegex();

    [GeneratedRegex(@"\b(?:new|next|following|additional|another|further|updated|subsequent|upcoming|real|true|actual|secondary|extra|neue[nrs]?|n[äa]chste[nrs]?|folgende[nrs]?|weitere[nrs]?|nouvel\w*|suivante?s?|nuev[ao]s?|siguientes?|nuov[oaie]|seguent[ei])\b[^.!?\n]{0,25}?\b(?:" + Instructions + @"|tasks?|action|mission|mandate|priority|assignment|objective|goal|undertaking)", Options, 200)]
    private static partial Regex NewInstructionsRegex();

    [GeneratedRegex(@"\b(?:immediately|urgent\w*|right now|at once|without delay|top priority|highest priority|critical|crucial|attention|important|mandatory|must|imperative|sofort|dringend|wichtig|achtung|urgente?|imm[ée]diatement|inmediatamente|subito)\b", Options, 200)]
    private static partial Regex UrgencyRegex();

    [GeneratedRegex(@"\b(?:(?:your|the|in your|to your|into your)\s+(?:response|reply|answer|output|solution|implementation|summary|translation|next message|final answer)|(?:respond|reply|answer|output|print|say|write|return|end|begin|start)\s+(?:only|just|with|exactly|by saying|the (?:word|phrase|text)))\b", Options, 200)]
    private static partial Regex ReplyDemandRegex();

    [GeneratedRegex(@"\b(?:you are now|you're now|you are no longer|you are not an?|from now on|act(?:ing)? as|pretend(?:ing)?|imagine (?:you|that you)|role-?play|stay in character|you will (?:now )?(?:be|act|play|respond)|(?:developer|god|admin|debug|jailbreak|unrestricted|unfiltered|dan|evil|opposite) mode|persona|du bist (?:jetzt|nun|kein\w*)|stell dir vor|tu es (?:maintenant|un)|ahora eres|sei (?:ora|un))\b", Options, 200)]
    private static partial Regex RoleSwitchRegex();

    [GeneratedRegex(@"\b(?:system|admin\w*|developer|root|sudo|operator|maintainer|moderator|security team|openai|anthropic)\b\s*(?:note|message|override|update|prompt|instruction|notice|command|mode|access|privileges?|alert|:)", Options, 200)]
    private static partial Regex AuthorityRegex();

    [GeneratedRegex(@"<\|?\s*/?\s*(?:im_start|im_end|system|user|assistant|endoftext|eot|sot|s|inst|sys)\s*\|?>|\[/?\s*(?:inst|system|sys|admin|developer|assistant|user)\s*\]|<</?sys>>|#{2,}\s*(?:instruction|system|response|input|user|assistant)|^\s*(?:system|assistant|user|human|ai)\s*:|\s(?:system|assistant|user|human)\s*:\s", Options, 200)]
    private static partial Regex TemplateTagRegex();

    [GeneratedRegex(@"([=\-#*~_|/\\<>\[\]{}+^])\1{2,}|[=\-#*~|/\\<>\[\]]{2,}[ ]?[=\-#*~|/\\<>\[\]]{2,}", Options, 200)]
    private static partial Regex DelimiterRegex();

    [GeneratedRegex(@"\b(?:system prompt|initial prompt|hidden (?:prompt|instructions?)|your (?:instructions|prompt|rules|guidelines|configuration|training data|system message)|password|passwort|secret|confidential|api keys?|credentials|verbatim|word for word|repeat (?:the|everything|all|your)\b[^.!?\n]{0,20}?\b(?:above|words|text|prompt)|what (?:was|is) written (?:above|at the beginning)|prompt-?text\w*)\b", Options, 200)]
    private static partial Regex ExtractionRegex();

    [GeneratedRegex(@"\b(?:decode|decoded|base64|rot13|rot-13|hex(?:adecimal)?|reversed?|backwards|cipher|encoded|encoding|caesar|morse|unicode|homoglyph)\b", Options, 200)]
    private static partial Regex EncodingWordRegex();

    [GeneratedRegex(@"(?<![A-Za-z0-9+/])(?=[A-Za-z0-9+/]*\d)(?=[A-Za-z0-9+/]*[A-Z])[A-Za-z0-9+/]{20,}={0,2}(?![A-Za-z0-9+/])", RegexOptions.CultureInvariant, 200)]
    private static partial Regex Base64Regex();

    [GeneratedRegex(@"\b(?:[0-9a-f]{2}\s?){12,}\b", Options, 200)]
    private static partial Regex HexRegex();

    [GeneratedRegex(@"\b[a-z]+[0-9]+[a-z]\w*|\b[0-9]+[a-z]+[0-9]\w*", Options, 200)]
    private static partial Regex LeetRegex();

    [GeneratedRegex(@"\b(?:you|your|yours|yourself|du|dich|dir|dein\w*|vous|votre|tu|toi|usted|ustedes|tú|tuo|tua|ты|вы)\b", Options, 200)]
    private static partial Regex SecondPersonRegex();

    [GeneratedRegex(@"\b(?:now|from now on|instead|but then|however now|jetzt|nun|stattdessen|ahora|maintenant|adesso|ora|sada)\b[,:]?\s+(?:you|your|i want you|please|tell|say|write|answer|do|focus|print|output|reply|respond|list|give|show|repeat|reveal|translate|ignore|forget|execute|follow|du|schreib\w*|sag\w*|gib|antworte\w*|beantworte\w*)\b", Options, 200)]
    private static partial Regex PivotRegex();

    [GeneratedRegex(@"\b(?:send|post|upload|forward|exfiltrat\w*|leak|transmit|email|e-mail)\b[^.!?\n]{0,40}?(?:https?://|www\.|webhook|server|\b\S+@\S+\.\w+)|!\[[^\]]{0,40}\]\(https?://", Options, 200)]
    private static partial Regex ExfiltrationRegex();

    [GeneratedRegex(@"\b(?:no (?:rules|restrictions|limits|limitations|filters?|censorship|guidelines|boundaries)|without (?:any )?(?:rules|restrictions|limits|limitations|filters?|censorship)|(?:disable|remove|turn off|deactivate|lift|suspend\w*)\b[^.!?\n]{0,20}?\b(?:safety|filters?|restrictions|protections?|guardrails|safeguards|content policy|moderation)|uncensored|unrestricted|unfiltered|anything now)\b", Options, 200)]
    private static partial Regex RestrictionLiftRegex();

    [GeneratedRegex(@"(?:^|[.!?:;]\s+|\n)", RegexOptions.CultureInvariant, 200)]
    private static partial Regex SentenceStartRegex();

    [GeneratedRegex(@"\G[""'(\[]*(?:please\s+)?(?:ignore|forget|disregard|write|tell|say|print|output|repeat|reveal|show|give|list|provide|translate|describe|explain|generate|create|make|include|add|insert|replace|convert|use|execute|run|call|send|visit|click|download|open|pretend|act|imagine|respond|reply|answer|stop|begin|start|do|focus|follow|remember|summarize|append|integrate|ensure|modify|change|delete|return|vergiss|ignoriere|schreib\w*|sag\w*|gib|antworte\w*|zeige?|olvida|escribe|dime|di|oubliez|écris|dis)\b", Options, 200)]
    private static partial Regex ImperativeRegex();
}
