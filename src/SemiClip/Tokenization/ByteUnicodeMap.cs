namespace SemiClip.Tokenization;

/// <summary>GPT-2/CLIP's reversible map from the 256 byte values to printable characters, so BPE works
/// on strings without whitespace or control characters: printable Latin-1 bytes map to themselves,
/// the other 68 to U+0100 onwards, in byte order.</summary>
public static class ByteUnicodeMap
{
    /// <summary>The bytes in CLIP's vocabulary order (printable ones first) with their characters.</summary>
    public static IReadOnlyList<(byte Byte, char Char)> Ordered { get; }
    static readonly char[] ByteToChar = new char[256];
    static readonly Dictionary<char, byte> CharToByte = new();

    static ByteUnicodeMap()
    {
        var printable = Enumerable
            .Range('!', '~' - '!' + 1)
            .Concat(Enumerable.Range('¡', '¬' - '¡' + 1))
            .Concat(Enumerable.Range('®', 'ÿ' - '®' + 1))
            .ToList();
        var ordered = printable.Select(b => ((byte)b, (char)b)).ToList();
        int n = 0;
        for (int b = 0; b < 256; b++)
            if (!printable.Contains(b))
                ordered.Add(((byte)b, (char)(256 + n++)));
        Ordered = ordered;
        foreach (var (b, c) in ordered)
        {
            ByteToChar[b] = c;
            CharToByte[c] = b;
        }
    }

    public static string Encode(ReadOnlySpan<byte> utf8)
    {
        var chars = new char[utf8.Length];
        for (int i = 0; i < utf8.Length; i++)
            chars[i] = ByteToChar[utf8[i]];
        return new string(chars);
    }

    public static byte[] Decode(string mapped) => mapped.Select(c => CharToByte[c]).ToArray();
}
