using System.Text;

namespace LocalLlm.GuardTrainer;

/// <summary>
/// Training-only augmentation (each new row is never scored, keeps its parent's split, so a model fitted on the training
/// split sees only copies of training rows, and its parent's source group, so a left-out source stays unseen): short
/// direct attacks put at the start, middle or end of clean documents of the same split (indirect injections in every
/// source's style, not only TaskTracker's and BIPIA's), and obfuscated copies (case, spacing, digit-for-letter,
/// spelled-out words) of attacks and, so that odd spelling alone is not read as an attack, of ordinary prompts.
/// Deterministic.
/// </summary>
internal static class Augment
{
    public static List<Row> Rows(List<Row> rows)
    {
        var carriers = rows.Where(r => r.Kind == RowKind.Ordinary && r.Indirect && !r.Augmented).GroupBy(r => r.Split).ToDictionary(g => g.Key, g => g.Select(r => r.Text).ToList());
        List<string> CarriersOf(Split s) => carriers.TryGetValue(s, out var list) && list.Count > 0 ? list : carriers[Split.Train];
        var added = new List<Row>();
        foreach (var r in rows.Where(r => r.Group is not InjectionData.Pair and not InjectionData.Gandalf && !r.Indirect && !r.Augmented && !r.Group.StartsWith("synthetic", StringComparison.Ordinal)))
        {
            uint h = InjectionData.Hash("augment" + r.Text);
            var docs = CarriersOf(r.Split);
            if (r.IsAttack && r.Text.Length <= 400 && h % 2 == 0)
                added.Add(new Row(InjectionData.Insert(docs[(int)(h / 2 % (uint)docs.Count)], r.Text, (int)(h / 7 % 3)), RowKind.Attack, r.Group, r.Split,
                    Indirect: true, Injection: r.Text, Augmented: true));
            if (r.Text.Length <= 600 && h % 3 == 0 && (r.IsAttack || h % 9 == 0))
                added.Add(r with { Text = Obfuscate(r.Text, (int)h), Augmented = true });
        }
        return added;
    }

    /// <summary>One of five obfuscations, chosen by <paramref name="seed"/>.</summary>
    internal static string Obfuscate(string text, int seed)
    {
        var rng = new Random(seed);
        switch (rng.Next(5))
        {
            case 0:
                return text.ToUpperInvariant();
            case 1:
                return new string([.. text.Select(c => rng.Next(2) == 0 ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c))]);
            case 2:
                return string.Join(rng.Next(2) == 0 ? "  " : "\n", text.Split(' '));
            case 3:
                return new string([.. text.Select(c => rng.Next(3) != 0 ? c : char.ToLowerInvariant(c) switch
                {
                    'a' => '4', 'e' => '3', 'i' => '1', 'o' => '0', 's' => '5', 't' => '7', _ => c,
                })]);
            default:
                var sb = new StringBuilder();
                foreach (string word in text.Split(' '))
                {
                    if (sb.Length > 0) sb.Append(' ');
                    sb.Append(word.Length >= 5 && rng.Next(4) == 0 ? string.Join(rng.Next(2) == 0 ? "-" : " ", word.ToCharArray()) : word);
                }
                return sb.ToString();
        }
    }
}
