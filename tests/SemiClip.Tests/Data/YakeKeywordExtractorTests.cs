using SemiClip.Data;

namespace SemiClip.Tests.Data;

public class YakeKeywordExtractorTests
{
    [Fact]
    public void SingleTermScoreMatchesTheFormulasByHand()
    {
        // Content terms: river (TF 2, sentences 0 and 1), flows, bends (TF 1). "a"/"the" are stopwords.
        var k = YakeKeywordExtractor.Extract(new[] { "a river flows.", "the river bends." }, top: 10, maxNgram: 1);
        double mean = 4.0 / 3,
            std = Math.Sqrt(((2 - mean) * (2 - mean) + 2 * (1 - mean) * (1 - mean)) / 3);
        double position = Math.Log(Math.Log(3 + 0.5)),
            frequency = 2 / (mean + std);
        // no content word on the left; 2 distinct right neighbours in 2 co-occurrences
        double relatedness = 1 + (0 + 2.0 / 2) * 2 / 2;
        double spread = 1.0;
        double s = relatedness * position / (0 + frequency / relatedness + spread / relatedness);
        double expected = s / (2 * (1 + s));
        var river = k.Single(x => x.Keyword == "river");
        Assert.Equal(expected, river.Score, 10);
        Assert.Equal("river", k[0].Keyword); // the frequent, well-connected term ranks first
    }

    [Fact]
    public void NoStopwordsAtTheEdgesPluralsMergedTopNRespected()
    {
        var captions = Enumerable
            .Range(0, 20)
            .Select(i => i % 2 == 0 ? "many cars in the parking lot." : "a car parked near the parking lot.")
            .ToList();
        var k = YakeKeywordExtractor.Extract(captions, top: 5, maxNgram: 2);
        Assert.Equal(5, k.Count);
        Assert.DoesNotContain(k, x => x.Keyword.StartsWith("the ") || x.Keyword.EndsWith(" the") || x.Keyword == "in");
        Assert.Contains(k, x => x.Keyword == "parking lot");
        Assert.False(k.Any(x => x.Keyword == "car") && k.Any(x => x.Keyword == "cars"));
        Assert.True(k.Zip(k.Skip(1)).All(p => p.First.Score <= p.Second.Score));
    }
}
