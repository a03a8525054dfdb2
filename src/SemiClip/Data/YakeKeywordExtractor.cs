using System.Text.RegularExpressions;

namespace SemiClip.Data;

/// <summary>YAKE! keyword extraction (Campos et al., Information Sciences 2020), the way the S-CLIP
/// reference builds keyword lists for domains without class names. Hand-written because no .NET package
/// implements it. The corpus is one document whose sentences are the captions. Per single term t:
/// <code>
///   Casing    = max(TF_upper, TF_acronym) / (1 + ln TF)
///   Position  = ln(ln(3 + median(sentence indices of t)))
///   Frequency = TF / (mean TF + σ TF)                          (over non-stopword terms)
///   Relatedness = 1 + (WL + WR)·TF/maxTF,  W = distinct neighbours / neighbour co-occurrences (window 1)
///   Spread    = sentences containing t / sentences
///   S(t) = Relatedness·Position / (Casing + Frequency/Relatedness + Spread/Relatedness)
/// </code>
/// A candidate n-gram k (no stopword at either end) scores S(k) = Π S(t) / (TF(k)·(1 + Σ S(t))), stopwords
/// inside contributing nothing; lower is better. Candidates that are equal once a plural 's' is dropped
/// ("car"/"cars") are kept once, with the better score (YAKE deduplicates by string similarity).</summary>
public static partial class YakeKeywordExtractor
{
    static readonly HashSet<string> Stopwords = new(
        (
            "a about above after again against all am an and any are as at be because been before being below "
            + "between both but by can "
            + "could did do does doing down during each few for from further had has have having he her here hers "
            + "herself him himself his how "
            + "i if in into is it its itself just me more most my myself no nor not now of off on once only or other "
            + "our ours ourselves out "
            + "over own same she should so some such than that the their theirs them themselves then there these "
            + "they this those through to "
            + "too under until up very was we were what when where which while who whom why will with would you your "
            + "yours yourself yourselves "
            + "there's it's one two three four five six seven eight nine ten many several also near next around beside"
        ).Split(' '),
        StringComparer.OrdinalIgnoreCase
    );

    sealed class Term
    {
        public int Tf,
            Upper,
            Acronym;
        public readonly List<int> Sentences = new();
        public readonly Dictionary<string, int> Left = new(),
            Right = new();
        public bool Stop;
        public double Score;
    }

    public static List<(string Keyword, double Score)> Extract(IEnumerable<string> texts, int top, int maxNgram = 2)
    {
        var sentences = texts
            .SelectMany(t => SentenceSplit().Split(t))
            .Select(s => s.Trim())
            .Where(s => s.Length > 0)
            .ToList();
        var terms = new Dictionary<string, Term>(StringComparer.Ordinal);
        var tokenised = new List<List<string>>();
        for (int si = 0; si < sentences.Count; si++)
        {
            var words = WordPattern().Matches(sentences[si]).Select(m => m.Value).ToList();
            var lower = words.Select(w => w.ToLowerInvariant()).ToList();
            tokenised.Add(lower);
            for (int i = 0; i < words.Count; i++)
            {
                var t = terms.TryGetValue(lower[i], out var x)
                    ? x
                    : terms[lower[i]] = new Term
                    {
                        Stop = Stopwords.Contains(lower[i]) || lower[i].Length < 3 || lower[i].All(char.IsDigit),
                    };
                t.Tf++;
                if (words[i].Length > 1 && words[i].All(char.IsUpper))
                    t.Acronym++;
                else if (i > 0 && char.IsUpper(words[i][0]))
                    t.Upper++;
                if (t.Sentences.Count == 0 || t.Sentences[^1] != si)
                    t.Sentences.Add(si);
                if (i > 0 && !terms[lower[i - 1]].Stop)
                    t.Left[lower[i - 1]] = t.Left.GetValueOrDefault(lower[i - 1]) + 1;
                if (i + 1 < words.Count && !Stopwords.Contains(lower[i + 1]))
                    t.Right[lower[i + 1]] = t.Right.GetValueOrDefault(lower[i + 1]) + 1;
            }
        }
        var content = terms.Values.Where(t => !t.Stop).ToList();
        if (content.Count == 0)
            return new();
        double meanTf = content.Average(t => t.Tf),
            stdTf = Math.Sqrt(content.Average(t => (t.Tf - meanTf) * (t.Tf - meanTf)));
        double maxTf = content.Max(t => t.Tf);
        foreach (var t in terms.Values)
        {
            double casing = Math.Max(t.Upper, t.Acronym) / (1 + Math.Log(t.Tf));
            var sorted = t.Sentences.OrderBy(s => s).ToList();
            double median =
                sorted.Count % 2 == 1
                    ? sorted[sorted.Count / 2]
                    : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2.0;
            double position = Math.Log(Math.Log(3 + median));
            double frequency = t.Tf / (meanTf + stdTf);
            double wl = t.Left.Count == 0 ? 0 : (double)t.Left.Count / t.Left.Values.Sum();
            double wr = t.Right.Count == 0 ? 0 : (double)t.Right.Count / t.Right.Values.Sum();
            double relatedness = 1 + (wl + wr) * t.Tf / maxTf;
            double spread = (double)t.Sentences.Count / sentences.Count;
            t.Score = relatedness * position / (casing + frequency / relatedness + spread / relatedness);
        }

        var candidates = new Dictionary<string, (int Tf, string[] Words)>(StringComparer.Ordinal);
        foreach (var words in tokenised)
            for (int n = 1; n <= maxNgram; n++)
                for (int i = 0; i + n <= words.Count; i++)
                {
                    var gram = words.Skip(i).Take(n).ToArray();
                    if (terms[gram[0]].Stop || terms[gram[^1]].Stop)
                        continue;
                    var key = string.Join(' ', gram);
                    candidates[key] = (candidates.GetValueOrDefault(key).Tf + 1, gram);
                }
        var scored = candidates
            .Select(kv =>
            {
                double product = 1,
                    sum = 0;
                foreach (var w in kv.Value.Words.Where(w => !terms[w].Stop))
                {
                    product *= terms[w].Score;
                    sum += terms[w].Score;
                }
                return (Keyword: kv.Key, Score: product / (kv.Value.Tf * (1 + sum)));
            })
            .OrderBy(k => k.Score)
            .ThenBy(k => k.Keyword, StringComparer.Ordinal);

        var chosen = new List<(string, double)>();
        foreach (var k in scored)
        {
            if (chosen.Any(c => SameKeyword(c.Item1, k.Keyword)))
                continue;
            chosen.Add(k);
            if (chosen.Count == top)
                break;
        }
        return chosen;
    }

    static bool SameKeyword(string a, string b)
    {
        string Singular(string w) => w.EndsWith('s') && w.Length > 3 ? w[..^1] : w;
        var wa = a.Split(' ').Select(Singular).ToArray();
        var wb = b.Split(' ').Select(Singular).ToArray();
        return wa.SequenceEqual(wb);
    }

    [GeneratedRegex(@"(?<=[.!?;])\s+|\n")]
    private static partial Regex SentenceSplit();

    [GeneratedRegex(@"[\p{L}\p{N}][\p{L}\p{N}'-]*")]
    private static partial Regex WordPattern();
}
