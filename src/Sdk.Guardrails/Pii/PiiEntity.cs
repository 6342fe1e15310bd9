namespace LocalLlm.Guardrails.Pii;

/// <summary>The kinds of personal data <see cref="PiiDetector"/> finds (names as in Microsoft Presidio).</summary>
[Flags]
public enum PiiEntity
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>EMAIL_ADDRESS: an e-mail address.</summary>
    EmailAddress = 1,

    /// <summary>PHONE_NUMBER: international (+...), North American, or grouped digits (short forms only next to a word like "phone" or "call").</summary>
    PhoneNumber = 2,

    /// <summary>CREDIT_CARD: 12 to 19 digits, optionally grouped, passing the Luhn checksum.</summary>
    CreditCard = 4,

    /// <summary>IBAN_CODE: an IBAN passing the ISO 7064 mod-97 check.</summary>
    IbanCode = 8,

    /// <summary>US_SSN: a US social security number written ddd-dd-dddd with a valid area, group and serial.</summary>
    UsSsn = 16,

    /// <summary>IP_ADDRESS: an IPv4 or IPv6 address.</summary>
    IpAddress = 32,

    /// <summary>Every kind.</summary>
    All = EmailAddress | PhoneNumber | CreditCard | IbanCode | UsSsn | IpAddress,
}

/// <summary>One piece of personal data in a text.</summary>
/// <param name="Entity">What it is.</param>
/// <param name="Start">The first character (inclusive).</param>
/// <param name="Length">Its length; the end is exclusive.</param>
public readonly record struct PiiMatch(PiiEntity Entity, int Start, int Length)
{
    /// <summary>Gets the position after the last character.</summary>
    public int End => Start + Length;
}
