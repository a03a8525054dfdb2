using SemiClip.Data;
using SemiClip.Losses;
using static TorchSharp.torch;

namespace SemiClip.Tests.Losses;

public class PseudoLabelDiagnosticsTests
{
    [Fact]
    public void PrecisionPartnersAndEntropyByHand()
    {
        // 3 unpaired rows over 3 paired images of classes [0, 1, 1].
        var plan = tensor(new float[] { 0.7f, 0.2f, 0.1f, 0.1f, 0.1f, 0.8f, 0.5f, 0.25f, 0.25f }, new long[] { 3, 3 });
        var paired = tensor(new long[] { 0, 1, 1 });
        // row 0 right (argmax 0 → class 0), row 1 wrong, row 2 has no partner
        var unpaired = tensor(new long[] { 0, 0, 2 });
        var d = new Dictionary<string, double>();
        PseudoLabelDiagnostics.Measure(plan, paired, unpaired, d);
        Assert.Equal(1.0 / 3, d["pseudo_label_precision"], 6);
        Assert.Equal(1.0 / 3, d["no_partner_fraction"], 6);
        double H(params double[] p) => -p.Sum(x => x * Math.Log(x));
        Assert.Equal((H(0.7, 0.2, 0.1) + H(0.1, 0.1, 0.8) + H(0.5, 0.25, 0.25)) / 3, d["plan_entropy"], 5);
    }

    [Fact]
    public void UnknownClassesGiveEntropyOnly()
    {
        var d = new Dictionary<string, double>();
        PseudoLabelDiagnostics.Measure(tensor(new float[] { 0.5f, 0.5f }, new long[] { 1, 2 }), null, null, d);
        Assert.Equal(["plan_entropy"], d.Keys);
        Assert.Equal(Math.Log(2), d["plan_entropy"], 6);
    }

    [Fact]
    public void KeywordPrecisionCountsRowsWithCandidatesAndANamedClass()
    {
        var plan = tensor(new float[] { 1, 0, 0, 1, 0, 1, 1, 0 }, new long[] { 4, 2 });
        // paired 0 has keywords 0 and 2; paired 1 none
        var labels = tensor(new float[] { 1, 0, 1, 0, 0, 0 }, new long[] { 2, 3 });
        var truth = tensor(new long[] { 2, 0, 1, 1 }); // row 0: hit; rows 1, 2: no candidates; row 3: miss
        var d = new Dictionary<string, double>();
        PseudoLabelDiagnostics.MeasureKeywords(plan, labels, truth, d);
        Assert.Equal(0.5, d["keyword_target_precision"], 6);
    }

    [Theory]
    [InlineData("DenseResidential", "dense residential")]
    [InlineData("BareLand", "bare land")]
    [InlineData("railway_station", "railway station")]
    [InlineData("Airport", "airport")]
    [InlineData("storage-tanks", "storage tanks")]
    public void ClassNamesBecomeWords(string label, string words) => Assert.Equal(words, ClassNames.Humanise(label));

    [Fact]
    public void ClassLabelsMapImagesAndKeywords()
    {
        var samples = new[]
        {
            new CaptionSample("/a.jpg", ["x"], "f:1") { Label = "DenseResidential" },
            new CaptionSample("/b.jpg", ["x"], "f:2") { Label = "Airport" },
            new CaptionSample("/c.jpg", ["x"], "f:3"),
        };
        var classes = ClassLabels.From(samples, new KeywordLabeler(["airport", "river", "dense residential"]))!;
        Assert.Equal(["Airport", "DenseResidential"], classes.Names);
        Assert.Equal(1, classes.Of("/a.jpg"));
        Assert.Equal(-1, classes.Of("/c.jpg"));
        Assert.Equal(2, classes.KeywordOf(1));
        Assert.Equal(0, classes.KeywordOf(0));
        Assert.Null(ClassLabels.From([samples[2]], null));
    }
}
