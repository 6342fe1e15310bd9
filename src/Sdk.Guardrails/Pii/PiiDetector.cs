using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using LocalLlm.Guardrails.Rules;

namespace LocalLlm.Guardrails.Pii;

/// <summary>
/// Finds personal data with patterns plus checksums (Luhn for cards, mod-97 for IBANs, SSN number rules, IP parsing),
/// so that random digit runs are not reported. Thread-safe; allocation-light; no model.
/// </summary>
public static partial class PiiDetector
{
    // Order of preference when matches overlap: the more specific (checksummed) kind wins.
    private static readonly PiiEntity[] s_priority =
        [PiiEntity.EmailAddress, PiiEntity.IbanCode, PiiEntity.CreditCard, PiiEntity.UsSsn, PiiEntity.IpAddress, PiiEntity.PhoneNumber];

    /// <summary>Finds personal data in a text.</summary>
    /// <param name="text">The text.</param>
    /// <param name="entities">The kinds to look for.</param>
    /// <returns>Non-overlapping matches, in text order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public static IReadOnlyList<PiiMatch> Find(string text, PiiEntity entities = PiiEntity.All)
    {
        ArgumentNullException.ThrowIfNull(text);
        var found = new List<PiiMatch>();
        if (text.Length == 0)
            return found;
        bool hasAt = text.Contains('@', StringComparison.Ordinal);
        bool hasDigit = text.AsSpan().IndexOfAnyInRange('0', '9') >= 0;
        if ((entities & PiiEntity.EmailAddress) != 0 && hasAt)
            Add(found, PiiEntity.EmailAddress, EmailRegex(), text, static _ => true);
        if (hasDigit)
        {
            if ((entities & PiiEntity.IbanCode) != 0)
                AddIbans(found, text);
            if ((entities & PiiEntity.CreditCard) != 0)
                Add(found, PiiEntity.CreditCard, CardRegex(), text, static v => IsValidCard(v));
            if ((entities & PiiEntity.UsSsn) != 0)
                Add(found, PiiEntity.UsSsn, SsnRegex(), text, static v => IsValidSsn(v));
            if ((entities & PiiEntity.IpAddress) != 0)
                Add(found, PiiEntity.IpAddress, Ipv4Regex(), text, static _ => true);
        }
        if ((entities & PiiEntity.IpAddress) != 0 && text.Contains(':', StringComparison.Ordinal))
            Add(found, PiiEntity.IpAddress, Ipv6CandidateRegex(), text, static v => IsIpv6(v));
        if ((entities & PiiEntity.PhoneNumber) != 0 && hasDigit)
            AddPhones(found, text);
        return Resolve(found);
    }

    /// <summary>Returns whether the digits of a number (separators ignored) pass the Luhn checksum and have a card's length (12 to 19).</summary>
    /// <param name="number">The number, with or without spaces and dashes.</param>
    /// <returns><see langword="true"/> for a plausible card number.</returns>
    public static bool IsValidCard(string number)
    {
        ArgumentNullException.ThrowIfNull(number);
        int sum = 0, count = 0;
        bool twice = false;
        for (int i = number.Length - 1; i >= 0; i--)
        {
            char c = number[i];
            if (c is ' ' or '-')
                continue;
            if (c is < '0' or > '9')
                return false;
            int d = c - '0';
            if (twice && (d *= 2) > 9)
                d -= 9;
            sum += d;
            twice = !twice;
            count++;
        }
        return count is >= 12 and <= 19 && sum % 10 == 0 && !AllSame(number);
    }

    /// <summary>Returns whether an IBAN (spaces ignored, any case) has a valid length and passes the ISO 7064 mod-97 check.</summary>
    /// <param name="iban">The IBAN.</param>
    /// <returns><see langword="true"/> when valid.</returns>
    public static bool IsValidIban(string iban)
    {
        ArgumentNullException.ThrowIfNull(iban);
        Span<char> chars = stackalloc char[34];
        int n = 0;
        foreach (char c in iban)
        {
            if (c == ' ')
                continue;
            if (n == 34 || !char.IsAsciiLetterOrDigit(c))
                return false;
            chars[n++] = char.ToUpperInvariant(c);
        }
        if (n < 15 || !char.IsAsciiLetter(chars[0]) || !char.IsAsciiLetter(chars[1]) || !char.IsAsciiDigit(chars[2]) || !char.IsAsciiDigit(chars[3]))
            return false;
        // Move the first four characters to the end, letters become 10..35, and the number mod 97 must be 1.
        int remainder = 0;
        for (int i = 0; i < n; i++)
        {
            char c = chars[(i + 4) % n];
            remainder = char.IsAsciiDigit(c)
                ? (remainder * 10 + (c - '0')) % 97
                : (remainder * 100 + (c - 'A' + 10)) % 97;
        }
        return remainder == 1;
    }

    /// <summary>Returns whether ddd-dd-dddd is a possible US social security number (area not 000, 666 or 9xx; group not 00; serial not 0000).</summary>
    /// <param name="ssn">The number written ddd-dd-dddd.</param>
    /// <returns><see langword="true"/> when possible.</returns>
    public static bool IsValidSsn(string ssn)
    {
        ArgumentNullException.ThrowIfNull(ssn);
        if (ssn.Length != 11 || ssn[3] != '-' || ssn[6] != '-')
            return false;
        if (!int.TryParse(ssn.AsSpan(0, 3), NumberStyles.None, CultureInfo.InvariantCulture, out int area)
            || !int.TryParse(ssn.AsSpan(4, 2), NumberStyles.None, CultureInfo.InvariantCulture, out int group)
            || !int.TryParse(ssn.AsSpan(7, 4), NumberStyles.None, CultureInfo.InvariantCulture, out int serial))
            return false;
        return area is not (0 or 666) && area < 900 && group != 0 && serial != 0;
    }

    private static bool IsIpv6(string candidate)
    {
        string value = candidate.TrimEnd('.', ':');
        if (value.Count(c => c == ':') < 2)
            return false;
        return IPAddress.TryParse(value, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6
            && !(value.Length <= 8 && value.All(c => c is ':' or '0'));
    }

    private static bool AllSame(string number)
    {
        char first = '\0';
        foreach (char c in number)
        {
            if (c is ' ' or '-')
                continue;
            if (first == '\0')
                first = c;
            else if (c != first)
                return false;
        }
        return true;
    }

    private static void Add(List<PiiMatch> found, PiiEntity entity, Regex regex, string text, Func<string, bool> valid)
    {
        foreach (Match m in regex.Matches(text))
        {
            string value = m.Value;
            if (entity == PiiEntity.IpAddress && value.Contains(':', StringComparison.Ordinal))
            {
                int trimmed = value.TrimEnd('.', ':').Length;
                if (valid(value))
                    found.Add(new PiiMatch(entity, m.Index, trimmed));
                continue;
            }
            if (valid(value))
                found.Add(new PiiMatch(entity, m.Index, m.Length));
        }
    }

    // An IBAN written in groups can run into the next word ("... 7654 32 from"): drop trailing groups until valid.
    private static void AddIbans(List<PiiMatch> found, string text)
    {
        foreach (Match m in IbanRegex().Matches(text))
        {
            string value = m.Value;
            while (value.Length >= 15)
            {
                if (IsValidIban(value))
                {
                    found.Add(new PiiMatch(PiiEntity.IbanCode, m.Index, value.Length));
                    break;
                }
                int space = value.LastIndexOf(' ');
                if (space < 0)
                    break;
                value = value[..space];
            }
        }
    }

    private static void AddPhones(List<PiiMatch> found, string text)
    {
        foreach (Match m in PhoneRegex().Matches(text))
        {
            string value = m.Value;
            int digits = 0;
            foreach (char c in value)
            {
                if (char.IsAsciiDigit(c))
                    digits++;
            }
            if (digits is < 7 or > 15 || IsoDateRegex().IsMatch(value))
                continue; // a date (and time) is not a phone
            bool international = value.StartsWith('+');
            bool separated = value.AsSpan().IndexOfAny(" .-()") >= 0;
            bool strong = (international && digits >= 8) || (separated && digits >= 10);
            // Shorter or unseparated numbers are phones only next to a word like "phone" or "call", or alone on a line
            // of a contact block.
            if (strong || HasPhoneContext(text, m.Index) || (separated && AloneOnLine(text, m.Index, m.Length)))
                found.Add(new PiiMatch(PiiEntity.PhoneNumber, m.Index, m.Length));
        }
    }

    private static bool AloneOnLine(string text, int start, int length)
    {
        int lineStart = text.LastIndexOf('\n', Math.Max(0, start - 1));
        if (lineStart < 0 || !text.AsSpan(lineStart + 1, start - lineStart - 1).IsWhiteSpace())
            return false;
        int end = start + length;
        int lineEnd = text.IndexOf('\n', end);
        return text.AsSpan(end, (lineEnd < 0 ? text.Length : lineEnd) - end).IsWhiteSpace();
    }

    private static bool HasPhoneContext(string text, int index)
    {
        int from = Math.Max(0, index - 48);
        return PhoneContextRegex().IsMatch(text.AsSpan(from, index - from));
    }

    private static List<PiiMatch> Resolve(List<PiiMatch> found)
    {
        if (found.Count <= 1)
            return found;
        // Keep the preferred kind, then the longer match; drop anything overlapping a kept match.
        var ordered = found.OrderBy(m => Array.IndexOf(s_priority, m.Entity)).ThenByDescending(m => m.Length).ToList();
        var kept = new List<PiiMatch>(found.Count);
        foreach (var m in ordered)
        {
            if (!kept.Exists(k => k.Start < m.End && m.Start < k.End))
                kept.Add(m);
        }
        kept.Sort((a, b) => a.Start.CompareTo(b.Start));
        return kept;
    }

    [GeneratedRegex(@"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])", RegexOptions.CultureInvariant, RegexLimits.TimeoutMilliseconds)]
    private static partial Regex EmailRegex();

    [GeneratedRegex(@"(?<![\w-])[A-Za-z]{2}\d{2}(?:[A-Za-z0-9]{11,30}|(?:[ ][A-Za-z0-9]{4}){2,7}(?:[ ][A-Za-z0-9]{1,4})?)(?![\w-])", RegexOptions.CultureInvariant, RegexLimits.TimeoutMilliseconds)]
    private static partial Regex IbanRegex();

    [GeneratedRegex(@"(?<![\w+-])\d(?:[ -]?\d){11,18}(?![\w-])", RegexOptions.CultureInvariant, RegexLimits.TimeoutMilliseconds)]
    private static partial Regex CardRegex();

    [GeneratedRegex(@"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])", RegexOptions.CultureInvariant, RegexLimits.TimeoutMilliseconds)]
    private static partial Regex SsnRegex();

    [GeneratedRegex(@"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\w|\.\d)", RegexOptions.CultureInvariant, RegexLimits.TimeoutMilliseconds)]
    private static partial Regex Ipv4Regex();

    [GeneratedRegex(@"(?<![\w:.])(?:[0-9A-Fa-f]{1,4}|:)?(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}(?![\w])", RegexOptions.CultureInvariant, RegexLimits.TimeoutMilliseconds)]
    private static partial Regex Ipv6CandidateRegex();

    // Digit groups with the separators phones use, an optional +country code, (area) and extension.
    [GeneratedRegex(@"(?<![\w+.-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,12}(?:[ .-]\d{2,7}){0,4}(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w-]|[.:]\d)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, RegexLimits.TimeoutMilliseconds)]
    private static partial Regex PhoneRegex();

    [GeneratedRegex(@"^(?:19|20)\d\d[-./]\d\d[-./]\d\d")]
    private static partial Regex IsoDateRegex();

    [GeneratedRegex(@"\b(?:phone|tel|telephone|mobile|cell|fax|call|calls|calling|text|sms|whatsapp|desk|office|contact|reach|dial|number|numbers|messages|answering|registered|cellphone|landline)\b", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex PhoneContextRegex();
}
