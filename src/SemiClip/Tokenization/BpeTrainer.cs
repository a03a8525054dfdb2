using System.Text;
using System.Text.RegularExpressions;
using SemiClip.IO;

namespace SemiClip.Tokenization;

/// <summary>Learns BPE merges from a caption corpus with CLIP's own pre-processing (clean-up, word
/// split, byte mapping, <c>&lt;/w&gt;</c> word ends), so a model trained from scratch on a small domain
/// can use a compact vocabulary: 512 byte symbols + merges + 2 special tokens.</summary>
public static class BpeTrainer
{
    public static List<(string Left, string Right)> Train(
        IEnumerable<string> corpus,
        int mergeCount,
        int minFrequency = 2
    )
    {
        var wordCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in corpus)
            foreach (Match m in ClipTokenizer.Pattern().Matches(TextCleaner.Clean(text)))
            {
                var w = ByteUnicodeMap.Encode(Encoding.UTF8.GetBytes(m.Value));
                wordCounts[w] = wordCounts.GetValueOrDefault(w) + 1;
            }
        var words = wordCounts
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv =>
            {
                var symbols = kv.Key.Select(c => c.ToString()).ToList();
                symbols[^1] += "</w>";
                return (Symbols: symbols, Count: kv.Value);
            })
            .ToList();

        var merges = new List<(string, string)>();
        while (merges.Count < mergeCount)
        {
            var pairCounts = new Dictionary<(string, string), int>();
            foreach (var (symbols, count) in words)
                for (int i = 0; i < symbols.Count - 1; i++)
                {
                    var p = (symbols[i], symbols[i + 1]);
                    pairCounts[p] = pairCounts.GetValueOrDefault(p) + count;
                }
            if (pairCounts.Count == 0)
                break;
            // Most frequent pair; ties broken by ordinal order so training is deterministic.
            var best = pairCounts
                .OrderByDescending(kv => kv.Value)
                .ThenBy(kv => kv.Key.Item1, StringComparer.Ordinal)
                .ThenBy(kv => kv.Key.Item2, StringComparer.Ordinal)
                .First();
            if (best.Value < minFrequency)
                break;
            var (left, right) = best.Key;
            merges.Add((left, right));
            foreach (var (symbols, _) in words)
                for (int i = 0; i < symbols.Count - 1; i++)
                    if (symbols[i] == left && symbols[i + 1] == right)
                    {
                        symbols[i] = left + right;
                        symbols.RemoveAt(i + 1);
                    }
        }
        return merges;
    }

    /// <summary>Writes merges in the format <see cref="ClipTokenizer.FromMergesFile"/> reads.</summary>
    public static void Save(string path, IEnumerable<(string Left, string Right)> merges)
    {
        var sb = new StringBuilder("#version: 0.2 (SemiClip BpeTrainer)\n");
        foreach (var (l, r) in merges)
            sb.Append(l).Append(' ').Append(r).Append('\n');
        AtomicFile.WriteAllText(path, sb.ToString());
    }
}
