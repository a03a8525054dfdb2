using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SemiClip.Tokenization;

/// <summary>CLIP's text clean-up before BPE: a subset of ftfy's <c>fix_text</c> (NFC, curly quotes,
/// Latin ligatures, full-width forms, control characters; ftfy's mojibake repair is not reproduced),
/// then HTML unescaping twice with Python's <c>html.unescape</c> rules, whitespace collapsing and
/// lower-casing.</summary>
public static partial class TextCleaner
{
    public static string Clean(string text)
    {
        text = FixText(text);
        text = HtmlUnescape.Unescape(HtmlUnescape.Unescape(text)).Trim();
        text = Whitespace().Replace(text, " ").Trim();
        return text.ToLowerInvariant();
    }

    static string FixText(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            int c = rune.Value;
            switch (c)
            {
                case 0x2018 or 0x2019 or 0x201A or 0x201B:
                    sb.Append('\'');
                    continue; // uncurl_quotes
                case 0x201C or 0x201D or 0x201E or 0x201F:
                    sb.Append('"');
                    continue;
                case >= 0xFB00 and <= 0xFB06:
                    sb.Append(rune.ToString().Normalize(NormalizationForm.FormKC));
                    continue; // ligatures
                case >= 0xFF01 and <= 0xFF5E:
                    sb.Append((char)(c - 0xFEE0));
                    continue; // full-width ASCII
                case 0x3000:
                    sb.Append(' ');
                    continue;
            }
            var cat = Rune.GetUnicodeCategory(rune);
            if (cat == UnicodeCategory.Control && c is not ('\t' or '\n' or '\r' or '\f' or '\v'))
                continue;
            sb.Append(rune.ToString());
        }
        return sb.ToString().Normalize(NormalizationForm.FormC);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
