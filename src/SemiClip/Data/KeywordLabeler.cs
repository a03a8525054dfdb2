using System.Text;

namespace SemiClip.Data;

/// <summary>S-CLIP's keyword labels: a caption "contains" a keyword when the keyword appears as whole
/// words, case-insensitively; the reference tests " k " in " caption ". We also treat punctuation as a
/// word boundary (so "river." contains "river"), which the reference's plain spaces miss. Multi-word
/// keywords work the same way.</summary>
public sealed class KeywordLabeler
{
    readonly string[] _padded;
    public IReadOnlyList<string> Keywords { get; }

    public KeywordLabeler(IEnumerable<string> keywords)
    {
        Keywords = keywords.Select(k => k.Trim()).Where(k => k.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        _padded = Keywords.Select(k => " " + Normalise(k) + " ").ToArray();
    }

    /// <summary>One keyword per line; blank lines and '#' comments ignored.</summary>
    public static KeywordLabeler FromFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: keyword file not found.", path);
        var words = File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        if (words.Count == 0) throw new InvalidDataException($"{path}: no keywords in file.");
        return new KeywordLabeler(words);
    }

    public float[] Label(string caption)
    {
        var padded = " " + Normalise(caption) + " ";
        var result = new float[_padded.Length];
        for (int k = 0; k < _padded.Length; k++) result[k] = padded.Contains(_padded[k], StringComparison.Ordinal) ? 1f : 0f;
        return result;
    }

    static string Normalise(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text.ToLowerInvariant()) sb.Append(char.IsLetterOrDigit(c) || c == '-' ? c : ' ');
        return string.Join(' ', sb.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }
}
