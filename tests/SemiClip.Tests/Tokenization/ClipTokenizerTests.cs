using SemiClip.Tests.Support;
using SemiClip.Tokenization;

namespace SemiClip.Tests.Tokenization;

public class ClipTokenizerTests
{
    static readonly Lazy<ClipTokenizer> Tok = new(() => ClipTokenizer.FromMergesFile(SharedFiles.ClipVocab));
    static ClipTokenizer T => Tok.Value;

    static long[] Row(string text, int ctx = 77)
    {
        var a = T.TokenizeToArray(new[] { text }, ctx);
        return Enumerable.Range(0, ctx).Select(j => a[0, j]).ToArray();
    }

    [Fact]
    public void VocabularyHasOpenAisSizeAndSpecialIds()
    {
        Assert.Equal(49408, T.VocabSize);
        Assert.Equal(49406, T.StartOfTextId);
        Assert.Equal(49407, T.EndOfTextId);
    }

    [Fact]
    public void KnownIdsForAPhotoOfACat()
    {
        var row = Row("a photo of a cat");
        Assert.Equal(new long[] { 49406, 320, 1125, 539, 320, 2368, 49407 }, row.Take(7));
        Assert.All(row.Skip(7), v => Assert.Equal(0, v));
    }

    [Fact]
    public void KnownIdsFromOpenClipsReadme()
    {
        Assert.Equal(new[] { 320, 22697 }, T.Encode("a diagram"));
        Assert.Equal(new[] { 320, 1929 }, T.Encode("a dog"));
    }

    [Fact]
    public void SingleByteSymbolsFollowTheByteOrderOfTheVocabulary()
    {
        // '!' is the first printable byte (id 0), its word-final form is id 256; digits are split one by one.
        Assert.Equal(new[] { 256 }, T.Encode("!"));
        Assert.Equal(T.Encode("1").Concat(T.Encode("2")).Concat(T.Encode("3")), T.Encode("123"));
    }

    [Theory]
    [InlineData("A PHOTO of a Cat", "a photo of a cat")]
    [InlineData("  a   photo\n\tof a  cat ", "a photo of a cat")]
    [InlineData("fish &amp; chips", "fish & chips")]
    [InlineData("fish &amp;amp; chips", "fish & chips")]
    [InlineData("fish &amp chips", "fish & chips")]
    [InlineData("caf&#233;", "café")]
    [InlineData("caf&eacute;", "café")]
    [InlineData("“quoted” ‘text’", "\"quoted\" 'text'")]
    [InlineData("ＦＵＬＬ ｗｉｄｔｈ", "full width")]
    [InlineData("cafe\u0301", "café")]
    public void CleaningMatchesTheReferenceNormalisation(string raw, string cleaned) =>
        Assert.Equal(T.Encode(cleaned), T.Encode(raw));

    [Theory]
    [InlineData("a photo of a cat")]
    [InlineData("don't stop: it's 42 km/h!!")]
    [InlineData("naïve café façade über straße")]
    [InlineData("an emoji 🚀 and a 🐈")]
    [InlineData("日本語のテキスト")]
    [InlineData("many ... dots ??? and ---- dashes")]
    public void DecodeInvertsEncode(string text)
    {
        var ids = Row(text).Select(v => (int)v);
        Assert.Equal(TextCleaner.Clean(text).Replace(" ", ""), T.Decode(ids).Replace(" ", ""));
    }

    [Fact]
    public void ApostropheSuffixesAreSeparateWords()
    {
        Assert.Equal(T.Encode("it").Concat(T.Encode("'s")), T.Encode("it's"));
    }

    [Fact]
    public void LongTextIsCutAndKeepsEndOfTextLast()
    {
        var row = Row(string.Join(' ', Enumerable.Repeat("cat", 100)), 16);
        Assert.Equal(49406, row[0]);
        Assert.Equal(49407, row[15]);
        Assert.All(row.Skip(1).Take(14), v => Assert.Equal(2368, v));
    }

    [Fact]
    public void SpecialTokensInTextMapToTheirIds()
    {
        Assert.Equal(new[] { 49407 }, T.Encode("<|endoftext|>"));
    }

    [Fact]
    public void RejectsAMalformedMergesFileNamingTheLine()
    {
        using var dir = new TempDir();
        var path = dir.File("bad.txt");
        File.WriteAllText(path, "#version: 0.2\na b\nthree parts here\n");
        var e = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromMergesFile(path));
        Assert.Contains("bad.txt:3", e.Message);
    }
}

public class HuggingFaceTokenizerFilesTests
{
    [Fact]
    public void VocabJsonAndMergesTxtGiveTheSameIdsAndAMismatchIsNamed()
    {
        using var dir = new TempDir();
        var merges = BpeTrainer.Train(new[] { "a river and a forest", "a river near the forest" }, 20, 1);
        BpeTrainer.Save(dir.File("merges.txt"), merges);
        var tok = ClipTokenizer.FromMergesFile(dir.File("merges.txt"));
        var vocab = Enumerable.Range(0, tok.VocabSize).ToDictionary(i => TokenString(tok, i), i => i);
        File.WriteAllText(dir.File("vocab.json"), System.Text.Json.JsonSerializer.Serialize(vocab));
        var hf = ClipTokenizer.Load(dir.File("vocab.json"));
        Assert.Equal(tok.Encode("a river"), hf.Encode("a river"));
        vocab[TokenString(tok, 5)] = 6;
        File.WriteAllText(dir.File("vocab.json"), System.Text.Json.JsonSerializer.Serialize(vocab));
        Assert.Contains(
            "vocab.json",
            Assert.Throws<InvalidDataException>(() => ClipTokenizer.Load(dir.File("vocab.json"))).Message
        );
    }

    // The vocabulary string of an id, rebuilt as HF's vocab.json stores it.
    static string TokenString(ClipTokenizer tok, int id)
    {
        if (id == tok.StartOfTextId)
            return ClipTokenizer.StartOfText;
        if (id == tok.EndOfTextId)
            return ClipTokenizer.EndOfText;
        var ordered = ByteUnicodeMap.Ordered;
        if (id < 256)
            return ordered[id].Char.ToString();
        if (id < 512)
            return ordered[id - 256].Char + "</w>";
        var m = tok.Merges[id - 512];
        return m.Left + m.Right;
    }
}
