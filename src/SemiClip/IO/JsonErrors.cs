using System.Text.Json;

namespace SemiClip.IO;

/// <summary>System.Text.Json's errors in SemiClip's words: the problem without the parser's own location suffix
/// (" LineNumber: 0 | BytePositionInLine: 73.", " Path: $.x"), which SemiClip says once, in front, as
/// file:line.</summary>
public static class JsonErrors
{
    public static string Problem(JsonException e)
    {
        var message = e.Message;
        foreach (var mark in new[] { " Path:", " LineNumber:" })
        {
            int cut = message.IndexOf(mark, StringComparison.Ordinal);
            if (cut > 0)
                message = message[..cut];
        }
        return message.TrimEnd().TrimEnd('.');
    }

    /// <summary>The 1-based line the parser stopped on.</summary>
    public static long Line(JsonException e) => (e.LineNumber ?? 0) + 1;
}
