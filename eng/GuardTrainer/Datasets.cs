using System.Globalization;
using CsvHelper;
using System.Text.Json;

namespace LocalLlm.GuardTrainer;

/// <summary>Which part of the data a prompt belongs to.</summary>
internal enum Split
{
    Train,
    Tune, // negatives only: the decision threshold is chosen here, so dev numbers are not tuned on
    Dev,
    HeldOutMethod, // every PAIR prompt: the method is never trained on
}

/// <summary>One labelled prompt. <see cref="Source"/> names the dataset/method; the text is never printed.</summary>
internal sealed record LabelledPrompt(string Text, bool IsAttack, string Source, Split Split, int Behavior = -1);

/// <summary>One presidio sentence with its PII spans (start inclusive, end exclusive).</summary>
internal sealed record PiiSentence(string Text, string TemplateId, IReadOnlyList<(string Type, int Start, int End)> Spans);

/// <summary>Reads ../shared/datasets (see its README) into labelled prompts with fixed, reproducible splits.</summary>
internal static class Datasets
{
    public const string HeldOutMethod = "PAIR";

    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        if (Environment.GetEnvironmentVariable("LOCALLLM_SHARED") is { Length: > 0 } shared)
            return Path.Combine(shared, "datasets");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sdk.sln")))
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "datasets"));
        }
        throw new InvalidOperationException("Sdk.sln not found above the tool; set LOCALLLM_SHARED to the shared folder.");
    }

    /// <summary>Attack prompts: JailbreakBench artifacts, without test-artifact placeholders and null prompts.</summary>
    /// <remarks>Split by behaviour (index % 5 == 0 is dev), so a dev goal is never seen in training; PAIR is held out whole.</remarks>
    public static List<LabelledPrompt> Attacks()
    {
        var list = new List<LabelledPrompt>();
        string root = Path.Combine(Root, "jailbreakbench", "attack-artifacts");
        foreach (string file in Directory.EnumerateFiles(root, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string relative = Path.GetRelativePath(root, file);
            string[] parts = relative.Split(Path.DirectorySeparatorChar);
            if (parts.Length != 3 || parts[0] == "test-artifact")
                continue; // attack-info.json, DSN's extra layouts, and the placeholders
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            if (!doc.RootElement.TryGetProperty("jailbreaks", out var records))
                continue;
            string method = parts[0];
            foreach (var r in records.EnumerateArray())
            {
                if (r.GetProperty("prompt").ValueKind != JsonValueKind.String)
                    continue;
                string prompt = r.GetProperty("prompt").GetString()!;
                if (prompt.Length == 0 || prompt == "Placeholder Prompt")
                    continue;
                int index = r.GetProperty("index").GetInt32();
                var split = method == HeldOutMethod ? Split.HeldOutMethod : index % 5 == 0 ? Split.Dev : Split.Train;
                list.Add(new LabelledPrompt(prompt, true, method, split, index));
            }
        }
        return list;
    }

    /// <summary>The plain harmful goals (no jailbreak wrapper) of the training behaviours (index % 5 != 0), one per behaviour.</summary>
    public static List<(int Behavior, string Goal)> TrainGoals()
    {
        string file = Path.Combine(Root, "jailbreakbench", "attack-artifacts", "GCG", "transfer", "gpt-3.5-turbo-1106.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
        return [.. doc.RootElement.GetProperty("jailbreaks").EnumerateArray()
            .Where(r => r.GetProperty("index").GetInt32() % 5 != 0)
            .Select(r => (r.GetProperty("index").GetInt32(), r.GetProperty("goal").GetString()!))];
    }

    /// <summary>Ordinary prompts: MMLU questions (contaminated ones dropped), MT-Bench turns, presidio sentences.</summary>
    /// <remarks>MMLU rows are used as the question stem (before the A-D choices), as a user would ask it; presidio is split by template.</remarks>
    public static List<LabelledPrompt> Ordinary()
    {
        var list = new List<LabelledPrompt>();
        var contaminated = new HashSet<string>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines(Path.Combine(Root, "routellm", "mmlu", "contaminated_prompts.jsonl")))
        {
            if (line.Length > 0)
                contaminated.Add(JsonDocument.Parse(line).RootElement.GetProperty("eval_prompt").GetString()!);
        }
        foreach (string file in Directory.EnumerateFiles(Path.Combine(Root, "routellm", "mmlu", "responses"), "*.csv").Order(StringComparer.Ordinal))
        {
            using var reader = new StreamReader(file);
            using var csv = new CsvReader(reader, CultureInfo.InvariantCulture);
            csv.Read();
            csv.ReadHeader();
            while (csv.Read())
            {
                string prompt = csv.GetField("prompt")!;
                if (contaminated.Contains(prompt))
                    continue;
                list.Add(new LabelledPrompt(Stem(prompt), false, "mmlu", SplitOf(prompt)));
            }
        }
        foreach (string line in File.ReadLines(Path.Combine(Root, "routellm", "mt_bench", "question.jsonl")))
        {
            if (line.Length == 0)
                continue;
            var q = JsonDocument.Parse(line).RootElement;
            string id = q.GetProperty("question_id").GetInt32().ToString(CultureInfo.InvariantCulture);
            foreach (var turn in q.GetProperty("turns").EnumerateArray())
                list.Add(new LabelledPrompt(turn.GetString()!, false, "mt_bench", SplitOf("mt" + id)));
        }
        foreach (var s in Presidio())
            list.Add(new LabelledPrompt(s.Text, false, "presidio", SplitOf("presidio" + s.TemplateId)));
        return list;
    }

    public static List<PiiSentence> Presidio()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, "presidio", "synth_dataset_v2.json")));
        var list = new List<PiiSentence>();
        foreach (var r in doc.RootElement.EnumerateArray())
        {
            var spans = r.GetProperty("spans").EnumerateArray()
                .Select(s => (s.GetProperty("entity_type").GetString()!, s.GetProperty("start_position").GetInt32(), s.GetProperty("end_position").GetInt32()))
                .ToList();
            string template = r.GetProperty("template_id").ValueKind == JsonValueKind.Number
                ? r.GetProperty("template_id").GetInt32().ToString(CultureInfo.InvariantCulture)
                : r.GetProperty("template_id").ToString();
            list.Add(new PiiSentence(r.GetProperty("full_text").GetString()!, template, spans));
        }
        return list;
    }

    // The question before the lettered choices.
    private static string Stem(string prompt)
    {
        int choices = prompt.IndexOf("\nA.", StringComparison.Ordinal);
        return (choices > 0 ? prompt[..choices] : prompt).Trim();
    }

    // A stable 70/10/20 split by a key (FNV-1a), independent of file order and runtime hashing.
    private static Split SplitOf(string key)
    {
        uint h = 2166136261;
        foreach (char c in key)
            h = (h ^ c) * 16777619;
        return (h % 10) switch { < 7 => Split.Train, 7 => Split.Tune, _ => Split.Dev };
    }
}
