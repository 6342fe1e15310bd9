using System.Text;
using System.Text.Json;

namespace LocalLlm.RouterTrainer;

/// <summary>One RouteLLM MMLU row: the prompt and whether each model answered it correctly.</summary>
internal sealed record MmluRow(string Prompt, string Subject, bool WeakCorrect, bool StrongCorrect);

internal static class MmluRows
{
    public const string WeakColumn = "mistralai/Mixtral-8x7B-Instruct-v0.1";
    public const string StrongColumn = "gpt-4-1106-preview";

    /// <summary>Reads every mmlu_*.csv and drops the contaminated prompts listed beside them.</summary>
    public static List<MmluRow> Load(string mmluFolder)
    {
        var contaminated = new HashSet<string>(StringComparer.Ordinal);
        string contaminatedPath = Path.Combine(mmluFolder, "contaminated_prompts.jsonl");
        foreach (string line in File.ReadLines(contaminatedPath))
        {
            if (line.Length == 0) continue;
            using var doc = JsonDocument.Parse(line);
            contaminated.Add(doc.RootElement.GetProperty("eval_prompt").GetString()!);
        }

        var rows = new List<MmluRow>();
        foreach (string file in Directory.GetFiles(Path.Combine(mmluFolder, "responses"), "mmlu_*.csv").Order(StringComparer.Ordinal))
        {
            string subject = Path.GetFileNameWithoutExtension(file)["mmlu_".Length..];
            List<string[]> records = ParseCsv(File.ReadAllText(file));
            string[] header = records[0];
            int prompt = Array.IndexOf(header, "prompt"), weak = Array.IndexOf(header, WeakColumn), strong = Array.IndexOf(header, StrongColumn);
            if (prompt < 0 || weak < 0 || strong < 0)
                throw new InvalidDataException($"{file}: expected columns prompt, {WeakColumn}, {StrongColumn}.");
            foreach (string[] r in records.Skip(1))
            {
                if (contaminated.Contains(r[prompt])) continue;
                rows.Add(new MmluRow(r[prompt], subject, bool.Parse(r[weak]), bool.Parse(r[strong])));
            }
        }
        return rows;
    }

    /// <summary>RFC 4180: quoted fields may hold commas, doubled quotes and newlines.</summary>
    private static List<string[]> ParseCsv(string text)
    {
        var records = new List<string[]>();
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
            else if (c == '\n' || c == '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                fields.Add(field.ToString()); field.Clear();
                records.Add([.. fields]); fields.Clear();
            }
            else field.Append(c);
        }
        if (field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            records.Add([.. fields]);
        }
        return records;
    }

    /// <summary>Deterministic split by question text: repeated prompts land on the same side.</summary>
    public static bool IsHeldOut(string prompt, int seed, double heldOutShare) => (Hash(prompt, seed) % 10_000) < heldOutShare * 10_000;

    public static ulong Hash(string prompt, int seed)
    {
        ulong h = 14695981039346656037UL ^ (ulong)seed;
        foreach (char c in prompt)
            h = (h ^ c) * 1099511628211UL;
        return h ^ (h >> 29);
    }
}
