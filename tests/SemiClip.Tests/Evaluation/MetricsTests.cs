using SemiClip.Evaluation;
using static TorchSharp.torch;

namespace SemiClip.Tests.Evaluation;

public class MetricsTests
{
    [Theory]
    [InlineData(8192)]
    [InlineData(3)]
    [InlineData(1)]
    public void ZeroShotTopKPerClassAndConfusionByHand(int imageTile)
    {
        // 3 classes on the axes; 4 images. Image 3 is a tie between classes 1 and 2 (true class 2):
        // a tie counts against the true class when a lower index has the same score.
        var classes = tensor(
            new float[,]
            {
                { 1, 0, 0 },
                { 0, 1, 0 },
                { 0, 0, 1 },
            }
        );
        var images = tensor(
            new float[,]
            {
                { 0.9f, 0.1f, 0 },
                { 0.2f, 0.7f, 0.1f },
                { 0.6f, 0.3f, 0.1f },
                { 0, 0.5f, 0.5f },
            }
        );
        var m = ZeroShotClassifier.Evaluate(images, classes, new[] { 0, 1, 1, 2 }, new[] { "a", "b", "c" }, imageTile);
        Assert.Equal(0.5, m.Top1); // images 0 and 1
        Assert.Equal(1.0, m.Top5); // top-k clipped to 3 classes
        Assert.Equal(new[] { 1.0, 0.5, 0.0 }, m.PerClassAccuracy);
        Assert.Equal(1, m.Confusion[1, 0]); // image 2 (b) predicted a
        Assert.Equal(1, m.Confusion[2, 1]); // image 3 (c) tie → predicted b
    }

    [Fact]
    public void ClassEmbeddingIsTheRenormalisedMeanOfTemplates()
    {
        var t = tensor(
            new float[,]
            {
                { 1, 0 },
                { 0, 1 },
                { 1, 0 },
                { 1, 0 },
            }
        ); // class 0: two templates, class 1: two
        var e = ZeroShotClassifier.ClassEmbeddings(t, 2, 2);
        Assert.Equal(Math.Sqrt(0.5), e[0, 0].item<float>(), 5);
        Assert.Equal(Math.Sqrt(0.5), e[0, 1].item<float>(), 5);
        Assert.Equal(1.0, e[1, 0].item<float>(), 5);
        Assert.Equal(
            new[] { "an aerial photograph of x.", "an aerial photograph of y." },
            ZeroShotClassifier.Prompts(new[] { "x", "y" }, new[] { "an aerial photograph of {}." })
        );
    }

    [Fact]
    public void RetrievalWithSeveralCaptionsPerImageByHand()
    {
        // 3 images, 5 captions (image 0 has captions 0,1; image 1 has 2,3; image 2 has 4). Scores S[i,t]:
        var s = new float[,]
        {
            { 0.1f, 0.9f, 0.5f, 0.2f, 0.0f }, // image 0: best own caption (1) ranks first → I→T rank 0
            { 0.8f, 0.1f, 0.3f, 0.2f, 0.1f }, // image 1: own best 0.3; caption 0 (0.8) above → rank 1
            { 0.2f, 0.2f, 0.2f, 0.2f, 0.2f }, // image 2: all tied → pessimistic rank 4
        };
        // Encode S as image features (rows of S) and text features (identity), so features·textᵀ = S.
        var images = tensor(s);
        var texts = eye(5);
        var r = RetrievalResult.Compute(images, texts, new[] { 0, 0, 1, 1, 2 });
        Assert.Equal(1.0 / 3, r.ImageToTextR1, 10);
        Assert.Equal(1.0, r.ImageToTextR5, 10);
        // Text→image per caption: t0 → image 0 scores 0.1 but image 1 has 0.8 and image 2 0.2 → rank 2.
        // t1 → rank 0. t2 → image 1 (0.3) vs 0.5 (img0) → rank 1. t3 → image 1 (0.2) vs 0.2 (img0), 0.2 (img2) → rank
        // 2. t4 → image 2 (0.2) vs 0.0, 0.1 → rank 0.
        Assert.Equal(2.0 / 5, r.TextToImageR1, 10);
        Assert.Equal(1.0, r.TextToImageR5, 10);
        Assert.Equal((1.0 / 3 + 1 + 1 + 2.0 / 5 + 1 + 1) / 6, r.MeanRecall, 10);
    }

    [Fact]
    public void LinearProbeSeparatesSeparableData()
    {
        using var seeded = new Generator(0);
        var centres = tensor(
            new float[,]
            {
                { 3, 0 },
                { 0, 3 },
                { -3, -3 },
            }
        );
        Tensor Draw(long[] labels) =>
            centres.index_select(0, tensor(labels)) + 0.5f * randn(labels.Length, 2, generator: seeded);
        var trainY = Enumerable.Range(0, 60).Select(i => (long)(i % 3)).ToArray();
        var testY = Enumerable.Range(0, 30).Select(i => (long)(i % 3)).ToArray();
        var result = LinearProbe.Run(Draw(trainY), trainY, Draw(testY), testY, 3);
        Assert.True(result.TestAccuracy > 0.95, $"accuracy {result.TestAccuracy}");
        Assert.Equal(6, result.ValidationAccuracy.Count);
    }

    /// <summary>The untiled definition, one score at a time in float64: the reference the tiled scoring must
    /// equal.</summary>
    static (int[] I2T, int[] T2I) ReferenceRanks(double[,] s, int[] owner)
    {
        int n = s.GetLength(0),
            m = s.GetLength(1);
        var i2t = new int[n];
        for (int i = 0; i < n; i++)
        {
            double best = double.NegativeInfinity;
            for (int t = 0; t < m; t++)
                if (owner[t] == i)
                    best = Math.Max(best, s[i, t]);
            for (int u = 0; u < m; u++)
                if (owner[u] != i && s[i, u] >= best)
                    i2t[i]++;
            if (double.IsNegativeInfinity(best))
                i2t[i] = int.MaxValue;
        }
        var t2i = new int[m];
        for (int t = 0; t < m; t++)
            for (int i = 0; i < n; i++)
                if (i != owner[t] && s[i, t] >= s[owner[t], t])
                    t2i[t]++;
        return (i2t, t2i);
    }

    [Theory]
    [InlineData(2, 3)]
    [InlineData(5, 7)]
    [InlineData(2048, 8192)]
    public void TiledRetrievalEqualsTheDefinitionWithTiesAndImagesWithoutCaptions(int imageTile, int textTile)
    {
        var g = new Random(3);
        // Scores on a coarse grid (many exact ties), fed as image rows against identity text features.
        int n = 11,
            m = 23;
        var s = new double[n, m];
        for (int i = 0; i < n; i++)
            for (int t = 0; t < m; t++)
                s[i, t] = g.Next(5) / 4.0;
        var owner = Enumerable.Range(0, m).Select(t => t % (n - 1)).ToArray(); // image 10 has no caption
        var (i2t, t2i) = ReferenceRanks(s, owner);
        double R(int[] ranks, int k) => ranks.Count(r => r < k) / (double)ranks.Length;
        var f = new float[n, m];
        for (int i = 0; i < n; i++)
            for (int t = 0; t < m; t++)
                f[i, t] = (float)s[i, t];
        var r = RetrievalResult.Compute(tensor(f), eye(m), owner, imageTile, textTile);
        Assert.Equal((R(i2t, 1), R(i2t, 5), R(i2t, 10)), (r.ImageToTextR1, r.ImageToTextR5, r.ImageToTextR10));
        Assert.Equal((R(t2i, 1), R(t2i, 5), R(t2i, 10)), (r.TextToImageR1, r.TextToImageR5, r.TextToImageR10));

        // Diagonal: caption i is image i's; strict ranks.
        var sq = tensor(f).narrow(1, 0, n);
        int[] dI = new int[n],
            dT = new int[n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                if (s[i, j] > s[i, i])
                    dI[i]++;
                if (s[j, i] > s[i, i])
                    dT[i]++;
            }
        var d = RetrievalResult.ComputeDiagonal(sq, eye(n), Math.Min(imageTile, textTile));
        Assert.Equal(
            (R(dI, 1), R(dI, 5), R(dT, 1), R(dT, 5)),
            (d.ImageToTextR1, d.ImageToTextR5, d.TextToImageR1, d.TextToImageR5)
        );
    }

    [Fact]
    public void DiagonalRetrievalByHand()
    {
        // Image i's caption is text i.
        var images = tensor(
            new float[,]
            {
                { 1, 0 },
                { 0.8f, 0.6f },
                { 0.6f, 0.8f },
            }
        );
        var texts = tensor(
            new float[,]
            {
                { 1, 0 },
                { 0, 1 },
                { 0.8f, 0.6f },
            }
        );
        // s = images·textsᵀ: row 0 = [1, 0, .8]; row 1 = [.8, .6, .64+.36=1.0]; row 2 = [.6, .8, .48+.48=.96]
        var r = RetrievalResult.ComputeDiagonal(images, texts);
        Assert.Equal(2.0 / 3, r.ImageToTextR1, 6); // image 1's own caption (text 1, 0.6) is beaten by texts 0 and 2
        Assert.Equal(1.0, r.ImageToTextR5, 6);
        // text→image: column 0 [1, .8, .6] → rank 0; column 1 [0, .6, .8] → image 2 beats image 1; column 2 [.8, 1,
        // .96] → image 1 beats image 2.
        Assert.Equal(1.0 / 3, r.TextToImageR1, 6);
        Assert.Throws<ArgumentException>(() => RetrievalResult.ComputeDiagonal(images, texts.narrow(0, 0, 2)));
    }
}
