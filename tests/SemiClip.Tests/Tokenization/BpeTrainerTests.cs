using SemiClip.Tests.Support;
using SemiClip.Tokenization;

namespace SemiClip.Tests.Tokenization;

public class BpeTrainerTests
{
    [Fact]
    public void FirstMergeIsTheMostFrequentPairCountedByHand()
    {
        // Words: "low"×3 → l o w</w>; "lower"×1 → l o w e r</w>. Pair counts: (l,o)=4, (o,w</w>)=3, (o,w)=1, …
        var merges = BpeTrainer.Train(new[] { "low low low lower" }, mergeCount: 2, minFrequency: 1);
        Assert.Equal(("l", "o"), merges[0]);
        Assert.Equal(("lo", "w</w>"), merges[1]);
    }

    [Fact]
    public void TrainedMergesRoundTripThroughTheFileAndTokenizer()
    {
        var corpus = new[]
        {
            "a river next to a forest",
            "a parking lot with many cars",
            "a forest beside a river",
            "many cars in a parking lot",
        };
        var merges = BpeTrainer.Train(corpus, mergeCount: 40);
        using var dir = new TempDir();
        var path = dir.File("merges.txt");
        BpeTrainer.Save(path, merges);
        var tok = ClipTokenizer.FromMergesFile(path);
        Assert.Equal(512 + merges.Count + 2, tok.VocabSize);
        var ids = tok.Encode("a forest beside a river");
        Assert.True(
            ids.Count < "a forest beside a river".Replace(" ", "").Length,
            "merges should shorten frequent words"
        );
        Assert.Equal("a forest beside a river", tok.Decode(ids));
        Assert.Equal(tok.VocabSize - 1, tok.EndOfTextId);
    }
}
