using System.Text.RegularExpressions;
using LocalLlm.Guardrails.Pii;

namespace LocalLlm.GuardTrainer;

/// <summary>Lists PII misses and false alarms as shapes (digits as 9, letters as a/A), never as text.</summary>
internal static partial class PiiDebug
{
    public static int Run(string type)
    {
        var entity = Enum.Parse<PiiEntity>(type, ignoreCase: true);
        string name = entity switch
        {
            PiiEntity.PhoneNumber => "PHONE_NUMBER", PiiEntity.IbanCode => "IBAN_CODE", PiiEntity.CreditCard => "CREDIT_CARD",
            PiiEntity.EmailAddress => "EMAIL_ADDRESS", PiiEntity.UsSsn => "US_SSN", _ => "IP_ADDRESS",
        };
        foreach (var s in Datasets.Presidio())
        {
            var predicted = PiiDetector.Find(s.Text).Where(m => m.Entity == entity).ToList();
            var gold = s.Spans.Where(g => g.Type == name).ToList();
            foreach (var g in gold.Where(g => !predicted.Any(m => m.Start < g.End && g.Start < m.End)))
                Console.WriteLine($"MISS  {Shape(s.Text, g.Start, g.End)}   found-other: {string.Join(",", PiiDetector.Find(s.Text).Where(m => m.Start < g.End && g.Start < m.End).Select(m => m.Entity))}");
            foreach (var m in predicted.Where(m => !gold.Any(g => m.Start < g.End && g.Start < m.End)))
                Console.WriteLine($"FALSE {Shape(s.Text, m.Start, m.End)}   gold-here: {string.Join(",", s.Spans.Where(g => m.Start < g.End && g.Start < m.End).Select(g => g.Type))}");
        }
        return 0;
    }

    private static string Shape(string text, int start, int end)
    {
        int from = Math.Max(0, start - 25), to = Math.Min(text.Length, end + 10);
        string Mask(string t) => UpperRegex().Replace(LowerRegex().Replace(DigitRegex().Replace(t, "9"), "a"), "A").Replace('\n', '|');
        return $"{Mask(text[from..start])}[[{Mask(text[start..end])}]]{Mask(text[end..to])}";
    }

    [GeneratedRegex(@"\d")]
    private static partial Regex DigitRegex();

    [GeneratedRegex(@"[a-z]")]
    private static partial Regex LowerRegex();

    [GeneratedRegex(@"[A-Z]")]
    private static partial Regex UpperRegex();
}
