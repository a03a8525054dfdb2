using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
#if !SEMICLIP_ONNX
using static TorchSharp.torch;
#endif

namespace SemiClip.Tokenization;

/// <summary>CLIP's byte-level BPE tokenizer, id-for-id with OpenAI's <c>SimpleTokenizer</c>.
/// Written by hand because Microsoft.ML.Tokenizers' BpeTokenizer applies its pre-tokenizer after any
/// normaliser, whereas CLIP splits words with <c>\p{L}</c>/<c>\p{N}</c> on the text first and maps bytes
/// to characters per word afterwards: a mapped "é" becomes "Ã©", which the same split would cut in two.</summary>
public sealed partial class ClipTokenizer
#if !SEMICLIP_ONNX
    : ITextTokenizer
#endif
{
    public const string StartOfText = "<|startoftext|>";
    public const string EndOfText = "<|endoftext|>";

    /// <summary>OpenAI's vocabulary uses lines 1..48894 of its merges file.</summary>
    public const int OpenAiMergeCount = 49152 - 256 - 2;

    readonly Dictionary<string, int> _encoder;
    readonly string[] _decoder;
    readonly Dictionary<(string, string), int> _ranks;
    readonly ConcurrentDictionary<string, string[]> _cache = new(StringComparer.Ordinal);

    public int VocabSize => _decoder.Length;
    public int StartOfTextId { get; }
    public int EndOfTextId { get; }
    public IReadOnlyList<(string Left, string Right)> Merges { get; }

    public ClipTokenizer(IReadOnlyList<(string Left, string Right)> merges)
    {
        Merges = merges;
        var vocab = new List<string>(512 + merges.Count + 2);
        vocab.AddRange(ByteUnicodeMap.Ordered.Select(o => o.Char.ToString()));
        vocab.AddRange(ByteUnicodeMap.Ordered.Select(o => o.Char + "</w>"));
        vocab.AddRange(merges.Select(m => m.Left + m.Right));
        vocab.Add(StartOfText);
        vocab.Add(EndOfText);
        _decoder = vocab.ToArray();
        _encoder = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _decoder.Length; i++)
            _encoder.TryAdd(_decoder[i], i);
        _ranks = new Dictionary<(string, string), int>();
        for (int i = 0; i < merges.Count; i++)
            _ranks.TryAdd(merges[i], i);
        StartOfTextId = _encoder[StartOfText];
        EndOfTextId = _encoder[EndOfText];
        _cache[StartOfText] = new[] { StartOfText };
        _cache[EndOfText] = new[] { EndOfText };
    }

    /// <summary>OpenAI's vocabulary, embedded in the library (MIT, Copyright (c) 2021 OpenAI; see
    /// Vocab/LICENSE-CLIP.txt).</summary>
    public static ClipTokenizer OpenAi() => OpenAiInstance.Value;

    static readonly Lazy<ClipTokenizer> OpenAiInstance = new(() =>
    {
        using var stream = typeof(ClipTokenizer).Assembly.GetManifestResourceStream(
            "SemiClip.Tokenization.bpe_simple_vocab_16e6.txt.gz"
        )!;
        using var gz = new GZipStream(stream, CompressionMode.Decompress);
        return FromMerges(gz, "embedded bpe_simple_vocab_16e6.txt.gz");
    });

    /// <summary>The embedded OpenAI vocabulary when <paramref name="path"/> is null or "openai", else a merges
    /// file, or a Hugging Face vocab.json (with merges.txt beside it).</summary>
    /// <summary>The files <see cref="Load"/> reads for <paramref name="path"/>: none for OpenAI's built-in vocabulary,
    /// vocab.json with the merges.txt beside it, or the one merges file.</summary>
    public static IReadOnlyList<string> VocabularyFiles(string? path)
    {
        if (path is null || path.Equals("openai", StringComparison.OrdinalIgnoreCase))
            return [];
        if (path.EndsWith("vocab.json", StringComparison.OrdinalIgnoreCase))
            return [path, Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "merges.txt")];
        return [path];
    }

    public static ClipTokenizer Load(string? path)
    {
        if (path is null || path.Equals("openai", StringComparison.OrdinalIgnoreCase))
            return OpenAi();
        if (path.EndsWith("vocab.json", StringComparison.OrdinalIgnoreCase))
            return FromHuggingFace(path, Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "merges.txt"));
        return FromMergesFile(path);
    }

    /// <summary>Reads a merges file (optionally gzipped; its first line is a header and is skipped): OpenAI's
    /// <c>bpe_simple_vocab_16e6.txt.gz</c> or one written by <see cref="BpeTrainer"/>. At most
    /// <see cref="OpenAiMergeCount"/> merges are used, as OpenAI does.</summary>
    public static ClipTokenizer FromMergesFile(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: BPE merges file not found.", path);
        using Stream raw = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
            ? new GZipStream(raw, CompressionMode.Decompress)
            : raw;
        return FromMerges(stream, path);
    }

    static readonly HashSet<char> ByteSymbols = ByteUnicodeMap.Ordered.Select(o => o.Char).ToHashSet();

    static ClipTokenizer FromMerges(Stream stream, string path)
    {
        using var reader = new StreamReader(stream, new UTF8Encoding(false, true));
        var merges = new List<(string, string)>();
        int lineNo = 0;
        string? line;
        try
        {
            while ((line = reader.ReadLine()) != null && merges.Count < OpenAiMergeCount)
            {
                lineNo++;
                if (lineNo == 1)
                    continue; // the header ("#version: 0.2"; OpenAI's file prefixes its own name)
                if (line.Length == 0)
                    continue;
                var parts = line.Split(' ');
                if (parts.Length != 2)
                    throw new InvalidDataException(
                        $"{path}:{lineNo}: a merge line must be two " + $"symbols separated by one space, got '{line}'."
                    );
                // Symbols are byte-level characters, and only the right one may end a word ("</w>"): anything else
                // is a damaged file, whose merges would silently never apply or decode to the wrong text.
                if (!IsSymbol(parts[0], wordEndAllowed: false) || !IsSymbol(parts[1], wordEndAllowed: true))
                    throw new InvalidDataException(
                        $"{path}:{lineNo}: '{line}' is not a merge of byte-level symbols (a CLIP merges file)."
                    );
                merges.Add((parts[0], parts[1]));
            }
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"{path}:{lineNo + 1}: not valid UTF-8 ({e.Message}).");
        }
        catch (InvalidDataException e)
            when (e.Message.Contains("GZip", StringComparison.OrdinalIgnoreCase)
                || !e.Message.StartsWith(path, StringComparison.Ordinal)
            )
        {
            throw new InvalidDataException($"{path}: not a readable merges file ({e.Message}).");
        }
        return new ClipTokenizer(merges);
    }

    static bool IsSymbol(string s, bool wordEndAllowed)
    {
        if (wordEndAllowed && s.EndsWith("</w>", StringComparison.Ordinal))
            s = s[..^4];
        return s.Length > 0 && s.All(ByteSymbols.Contains);
    }

    /// <summary>Hugging Face's pair: vocab.json (checked against the ids this tokenizer assigns) and
    /// merges.txt.</summary>
    public static ClipTokenizer FromHuggingFace(string vocabJsonPath, string mergesTxtPath)
    {
        var tok = FromMergesFile(mergesTxtPath);
        Dictionary<string, int> vocab;
        try
        {
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabJsonPath)) ?? new();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(
                $"{vocabJsonPath}:{SemiClip.IO.JsonErrors.Line(e)}: invalid JSON: {SemiClip.IO.JsonErrors.Problem(e)}."
            );
        }
        foreach (var (token, id) in vocab)
            if (!tok._encoder.TryGetValue(token, out var mine) || mine != id)
                throw new InvalidDataException(
                    $"{vocabJsonPath}: token '{token}' has id {id}, but the merges give "
                        + (tok._encoder.ContainsKey(token) ? $"{mine}" : "no id")
                        + "; the two files do not belong together."
                );
        return tok;
    }

    /// <summary>Token text → id, as an HF <c>vocab.json</c> holds it.</summary>
    public IReadOnlyDictionary<string, int> Vocabulary() =>
        new Dictionary<string, int>(_encoder, StringComparer.Ordinal);

    /// <summary>BPE ids of <paramref name="text"/> without start/end tokens.</summary>
    public List<int> Encode(string text)
    {
        var ids = new List<int>();
        foreach (Match m in Pattern().Matches(TextCleaner.Clean(text)))
        {
            var word = ByteUnicodeMap.Encode(Encoding.UTF8.GetBytes(m.Value));
            foreach (var piece in Bpe(word))
                ids.Add(_encoder[piece]);
        }
        return ids;
    }

    /// <summary>Text for ids, as the reference decodes: stops at the end token, skips the start token,
    /// turns word ends into spaces.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var sb = new StringBuilder();
        foreach (var id in ids)
        {
            if (id == EndOfTextId)
                break;
            if (id != StartOfTextId)
                sb.Append(_decoder[id]);
        }
        return Encoding
            .UTF8.GetString(ByteUnicodeMap.Decode(sb.ToString()))
            .Replace("</w>", " ", StringComparison.Ordinal)
            .Trim();
    }

    /// <summary>[texts, contextLength] int64 ids: start token, text, end token, zero padding. Too-long
    /// texts are cut and keep the end token last (open_clip's behaviour).</summary>
    public long[,] TokenizeToArray(IReadOnlyList<string> texts, int contextLength = 77)
    {
        var result = new long[texts.Count, contextLength];
        for (int i = 0; i < texts.Count; i++)
        {
            var ids = Encode(texts[i]);
            ids.Insert(0, StartOfTextId);
            ids.Add(EndOfTextId);
            if (ids.Count > contextLength)
            {
                ids.RemoveRange(contextLength, ids.Count - contextLength);
                ids[^1] = EndOfTextId;
            }
            for (int j = 0; j < ids.Count; j++)
                result[i, j] = ids[j];
        }
        return result;
    }

#if !SEMICLIP_ONNX
    public Tensor Tokenize(IReadOnlyList<string> texts, int contextLength = 77) =>
        tensor(TokenizeToArray(texts, contextLength));
#endif

    string[] Bpe(string token) => _cache.GetOrAdd(token, t =>
        {
            var word = new List<string>(t.Length);
            for (int i = 0; i < t.Length - 1; i++)
                word.Add(t[i].ToString());
            word.Add(t[^1] + "</w>");
            while (word.Count > 1)
            {
                int bestRank = int.MaxValue,
                    best = -1;
                for (int i = 0; i < word.Count - 1; i++)
                    if (_ranks.TryGetValue((word[i], word[i + 1]), out var r) && r < bestRank)
                    {
                        bestRank = r;
                        best = i;
                    }
                if (best < 0)
                    break;
                var (left, right) = (word[best], word[best + 1]);
                // Merge every occurrence of the pair, left to right, as the reference does.
                var merged = new List<string>(word.Count);
                for (int i = 0; i < word.Count;)
                {
                    if (i < word.Count - 1 && word[i] == left && word[i + 1] == right)
                    {
                        merged.Add(left + right);
                        i += 2;
                    }
                    else
                        merged.Add(word[i++]);
                }
                word = merged;
            }
            return word.ToArray();
        });

    /// <summary>CLIP's pre-tokenisation pattern (also written into an exported tokenizer.json).</summary>
    public const string SplitPattern =
        @"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";

    [GeneratedRegex(SplitPattern, RegexOptions.IgnoreCase)]
    internal static partial Regex Pattern();
}
