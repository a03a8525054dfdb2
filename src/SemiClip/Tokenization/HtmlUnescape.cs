using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace SemiClip.Tokenization;

/// <summary>Python's <c>html.unescape</c> semantics, which CLIP applies twice: numeric references with
/// HTML5's replacements for invalid code points, named references with a semicolon, and the legacy
/// names (ISO-8859-1 entities, amp, lt, gt, quot) also without one. .NET's WebUtility.HtmlDecode is
/// used for the named table; the rest it handles differently, hence this wrapper.</summary>
public static partial class HtmlUnescape
{
    // HTML4's Latin-1 entities, in code point order from U+00A0.
    static readonly string[] Latin1Names = (
        "nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 "
        + "acute micro para "
        + "middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml Aring AElig "
        + "Ccedil Egrave Eacute "
        + "Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave Uacute "
        + "Ucirc Uuml Yacute "
        + "THORN szlig agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml igrave iacute "
        + "icirc iuml eth ntilde "
        + "ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml"
    ).Split(' ');

    static readonly Dictionary<string, string> Legacy = BuildLegacy();

    static Dictionary<string, string> BuildLegacy()
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < Latin1Names.Length; i++)
            d[Latin1Names[i]] = ((char)(0xA0 + i)).ToString();
        foreach (
            var (k, v) in new[]
            {
                ("amp", "&"),
                ("lt", "<"),
                ("gt", ">"),
                ("quot", "\""),
                ("AMP", "&"),
                ("LT", "<"),
                ("GT", ">"),
                ("QUOT", "\""),
                ("COPY", "©"),
                ("REG", "®"),
            }
        )
            d[k] = v;
        return d;
    }

    // Windows-1252 meanings HTML5 gives to references in 0x80–0x9F.
    static readonly Dictionary<int, string> InvalidCharRefs = new()
    {
        [0x00] = "\ufffd",
        [0x0d] = "\r",
        [0x80] = "\u20ac",
        [0x81] = "\x81",
        [0x82] = "\u201a",
        [0x83] = "\u0192",
        [0x84] = "\u201e",
        [0x85] = "\u2026",
        [0x86] = "\u2020",
        [0x87] = "\u2021",
        [0x88] = "\u02c6",
        [0x89] = "\u2030",
        [0x8a] = "\u0160",
        [0x8b] = "\u2039",
        [0x8c] = "\u0152",
        [0x8d] = "\x8d",
        [0x8e] = "\u017d",
        [0x8f] = "\x8f",
        [0x90] = "\x90",
        [0x91] = "\u2018",
        [0x92] = "\u2019",
        [0x93] = "\u201c",
        [0x94] = "\u201d",
        [0x95] = "\u2022",
        [0x96] = "\u2013",
        [0x97] = "\u2014",
        [0x98] = "\u02dc",
        [0x99] = "\u2122",
        [0x9a] = "\u0161",
        [0x9b] = "\u203a",
        [0x9c] = "\u0153",
        [0x9d] = "\x9d",
        [0x9e] = "\u017e",
        [0x9f] = "\u0178",
    };

    public static string Unescape(string s) => s.Contains('&') ? CharRef().Replace(s, Replace) : s;

    static string Replace(Match m)
    {
        var body = m.Groups[1].Value;
        if (body[0] == '#')
        {
            bool hex = body.Length > 1 && (body[1] == 'x' || body[1] == 'X');
            var digits = body.Substring(hex ? 2 : 1).TrimEnd(';');
            if (
                !long.TryParse(
                    digits,
                    hex ? NumberStyles.HexNumber : NumberStyles.None,
                    CultureInfo.InvariantCulture,
                    out long num
                )
            )
                num = long.MaxValue;
            if (InvalidCharRefs.TryGetValue((int)Math.Min(num, int.MaxValue), out var rep))
                return rep;
            if (num is >= 0xD800 and <= 0xDFFF || num > 0x10FFFF)
                return "\ufffd";
            if (IsInvalidCodepoint(num))
                return "";
            return char.ConvertFromUtf32((int)num);
        }
        if (body.EndsWith(';'))
        {
            var decoded = WebUtility.HtmlDecode("&" + body);
            if (decoded != "&" + body)
                return decoded;
        }
        if (Legacy.TryGetValue(body, out var exact))
            return exact;
        // Python: the longest legacy name that prefixes the reference; the rest stays text.
        for (int x = body.Length - 1; x > 1; x--)
            if (Legacy.TryGetValue(body[..x], out var v))
                return v + body[x..];
        return "&" + body;
    }

    static bool IsInvalidCodepoint(long c) =>
        c is >= 0x1 and <= 0x8 or 0xB or >= 0xE and <= 0x1F or >= 0x7F and <= 0x9F or >= 0xFDD0 and <= 0xFDEF
        || (c & 0xFFFF) is 0xFFFE or 0xFFFF;

    [GeneratedRegex(@"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")]
    private static partial Regex CharRef();
}
