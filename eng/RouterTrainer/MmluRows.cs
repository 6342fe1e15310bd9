using System.Globalization;
using System.Text.Json;
using CsvHelper;

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
            using var reader = new StreamReader(file);
            using var csv = new CsvReader(reader, CultureInfo.InvariantCulture);
            if (!csv.Read() || !csv.ReadHeader() || csv.HeaderRecord is not { } header
                || !header.Contains("prompt") || !header.Contains(WeakColumn) || !header.Contains(StrongColumn))
                throw new InvalidDataException($"{file}: expected columns prompt, {WeakColumn}, {StrongColumn}.");
            while (csv.Read())
            {
                string prompt = csv.GetField("prompt")!;
                if (contaminated.Contains(prompt)) continue;
                rows.Add(new MmluRow(prompt, subject, bool.Parse(csv.GetField(WeakColumn)!), bool.Parse(csv.GetField(StrongColumn)!)));
            }
        }
        return rows;
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
