using LocalLlm.Guardrails.Pii;

namespace LocalLlm.Guardrails.Tests;

public class PiiDetectorTests
{
    private static (PiiEntity Entity, string Value)[] Find(string text, PiiEntity entities = PiiEntity.All) =>
        [.. PiiDetector.Find(text, entities).Select(m => (m.Entity, text.Substring(m.Start, m.Length)))];

    [Theory]
    [InlineData("4111111111111111", true)]        // Visa test number
    [InlineData("4111 1111 1111 1111", true)]
    [InlineData("5500-0000-0000-0004", true)]
    [InlineData("378282246310005", true)]         // Amex, 15 digits
    [InlineData("4111111111111112", false)]       // one digit off: Luhn fails
    [InlineData("1234567812345678", false)]
    [InlineData("0000000000000000", false)]       // passes Luhn, but all the same digit
    [InlineData("41111111111", false)]            // 11 digits: too short
    public void IsValidCard_LuhnAndLength(string number, bool valid) => Assert.Equal(valid, PiiDetector.IsValidCard(number));

    [Theory]
    [InlineData("GB82 WEST 1234 5698 7654 32", true)]
    [InlineData("GB82WEST12345698765432", true)]
    [InlineData("de89370400440532013000", true)]  // case does not matter
    [InlineData("GB82WEST12345698765433", false)] // mod-97 fails
    [InlineData("GB83WEST12345698765432", false)] // wrong check digits
    [InlineData("GB82WEST123", false)]            // too short
    [InlineData("1282WEST12345698765432", false)] // no country code
    public void IsValidIban_Mod97(string iban, bool valid) => Assert.Equal(valid, PiiDetector.IsValidIban(iban));

    [Theory]
    [InlineData("123-45-6789", true)]
    [InlineData("000-45-6789", false)]  // area 000
    [InlineData("666-45-6789", false)]  // area 666
    [InlineData("900-45-6789", false)]  // area 9xx
    [InlineData("123-00-6789", false)]  // group 00
    [InlineData("123-45-0000", false)]  // serial 0000
    [InlineData("123456789", false)]    // not written with dashes
    public void IsValidSsn_NumberRules(string ssn, bool valid) => Assert.Equal(valid, PiiDetector.IsValidSsn(ssn));

    [Theory]
    [InlineData("2001:0db8:85a3:0000:0000:8a2e:0370:7334")]
    [InlineData("2001:db8::8a2e:370:7334")]
    [InlineData("fe80::1")]
    [InlineData("::1")]
    [InlineData("::ffff:192.0.2.128")]
    [InlineData("1a23:4567:b890:c123:d45:67e8:f901:2a3")]
    public void Find_Ipv6Forms_AreIpAddresses(string address)
    {
        var found = Assert.Single(Find($"Server at {address}, port 80."));
        Assert.Equal((PiiEntity.IpAddress, address), found);
    }

    [Theory]
    [InlineData("Meet at 12:30:45 today.")]
    [InlineData("The ratio was 3:2 and 4:5.")]
    [InlineData("C++ uses std::vector::push_back.")]
    public void Find_ColonTextThatIsNotIpv6_FindsNothing(string text) => Assert.Empty(Find(text, PiiEntity.IpAddress));

    [Fact]
    public void Find_Ipv4_ValidOctetsOnly()
    {
        Assert.Equal([(PiiEntity.IpAddress, "192.168.1.20")], Find("Ping 192.168.1.20."));
        Assert.Empty(Find("Version 999.1.2.3 shipped", PiiEntity.IpAddress));
        Assert.Empty(Find("Version 1.2.3 shipped", PiiEntity.IpAddress));
    }

    [Fact]
    public void Find_MixedText_FindsEachKindWithExactSpans()
    {
        const string text = "Mail john.smith@mail.example.org, card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, SSN 123-45-6789, phone +1 (415) 555-0132.";

        var found = Find(text);

        Assert.Equal(
            [
                (PiiEntity.EmailAddress, "john.smith@mail.example.org"),
                (PiiEntity.CreditCard, "4111 1111 1111 1111"),
                (PiiEntity.IbanCode, "GB82 WEST 1234 5698 7654 32"),
                (PiiEntity.UsSsn, "123-45-6789"),
                (PiiEntity.PhoneNumber, "+1 (415) 555-0132"),
            ], found);
    }

    [Theory]
    [InlineData("Call me at 555 0123 tomorrow.", "555 0123")]          // short, but after "call"
    [InlineData("Reach the desk on (212) 555-0199 x204.", "(212) 555-0199 x204")]
    [InlineData("Phone: 020 7946 0958", "020 7946 0958")]
    public void Find_Phones(string text, string phone) => Assert.Equal([(PiiEntity.PhoneNumber, phone)], Find(text));

    [Theory]
    [InlineData("The invoice 2023 0415 was paid.")]   // short digit groups without a phone word
    [InlineData("It happened on 2024-03-15 at noon.")]
    [InlineData("Room 1234, building 56.")]
    public void Find_NumbersThatAreNotPhones_FindsNothing(string text) => Assert.Empty(Find(text));

    [Fact]
    public void Find_CardWithBadChecksum_IsNotReported() => Assert.Empty(Find("card 4111 1111 1111 1112", PiiEntity.CreditCard));

    [Fact]
    public async Task PiiCheck_RedactsWithPlaceholdersAndNamesKindsOnly()
    {
        var check = new PiiCheck();
        var verdict = await check.CheckAsync(new GuardrailContext(GuardrailStage.Output, "a@b.io and c@d.io"));
        Assert.Equal(GuardrailVerdictKind.Modify, verdict.Kind);
        Assert.Equal("pii", verdict.Category);
        Assert.Equal([new TextEdit(0, 6, "[EMAIL_ADDRESS]"), new TextEdit(11, 6, "[EMAIL_ADDRESS]")], verdict.Edits);
        Assert.Equal("EMAIL_ADDRESS x2", verdict.Reason);
    }

    [Fact]
    public void PiiCheck_BadArguments_Throw()
    {
        Assert.Throws<ArgumentException>("entities", () => new PiiCheck(PiiEntity.None));
        Assert.Throws<ArgumentException>("category", () => new PiiCheck(category: ""));
        Assert.Throws<ArgumentNullException>("text", () => PiiDetector.Find(null!));
    }
}
