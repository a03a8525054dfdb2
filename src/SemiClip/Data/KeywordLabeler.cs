using System.Text;

namespace SemiClip.Data;

/// <summary>How a caption "contains" a keyword.</summary>
public enum KeywordMatch
{
    /// <summary>alinlab/s-clip's exact test <c>" k " in " caption "</c>: case and punctuation matter, so
    /// "river." does not contain "river".</summary>
    Reference,

    /// <summary>Whole words, case-insensitively, punctuation as a boundary. Multi-word keywords work the same
    /// way.</summary>
    Words,
}

/// <summary>S-CLIP's keyword labels: which keywords each caption contains (see <see cref="KeywordMatch"/>).</summary>
public sealed class KeywordLabeler
{
    readonly string[] _padded;
    readonly KeywordMatch _match;
    public IReadOnlyList<string> Keywords { get; }

    public KeywordLabeler(IEnumerable<string> keywords, KeywordMatch match = KeywordMatch.Words)
    {
        _match = match;
        Keywords = keywords
            .Select(k => k.Trim())
            .Where(k => k.Length > 0)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
        _padded = Keywords.Select(k => " " + (match == KeywordMatch.Words ? Normalise(k) : k) + " ").ToArray();
    }

    /// <summary>The index of the keyword naming a class label (e.g. "DenseResidential" or "dense residential"
    /// → "dense residential"), or −1; for diagnostics.</summary>
    public int IndexOfClass(string label)
    {
        var wanted = Normalise(ClassNames.Humanise(label));
        for (int k = 0; k < Keywords.Count; k++)
            if (Normalise(Keywords[k]) == wanted)
                return k;
        return -1;
    }

    /// <summary>One keyword per line; blank lines and '#' comments ignored.</summary>
    public static KeywordLabeler FromFile(string path, KeywordMatch match = KeywordMatch.Words)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: keyword file not found.", path);
        var words = File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        if (words.Count == 0)
            throw new InvalidDataException($"{path}: no keywords in file.");
        return new KeywordLabeler(words, match);
    }

    public float[] Label(string caption)
    {
        var padded = " " + (_match == KeywordMatch.Words ? Normalise(caption) : caption) + " ";
        var result = new float[_padded.Length];
        for (int k = 0; k < _padded.Length; k++)
            result[k] = padded.Contains(_padded[k], StringComparison.Ordinal) ? 1f : 0f;
        return result;
    }

    static string Normalise(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text.ToLowerInvariant())
            sb.Append(char.IsLetterOrDigit(c) || c == '-' ? c : ' ');
        return string.Join(' ', sb.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }
}
