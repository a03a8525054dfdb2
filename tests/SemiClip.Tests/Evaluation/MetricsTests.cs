using SemiClip.Evaluation;
using static TorchSharp.torch;

namespace SemiClip.Tests.Evaluation;

public class MetricsTests
{
    [Fact]
    public void ZeroShotTopKPerClassAndConfusionByHand()
    {
        // 3 classes on the axes; 4 images. Image 3 is a tie between classes 1 and 2 (true class 2):
        // a tie counts against the true class when a lower index has the same score.
        var classes = tensor(new float[,] { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } });
        var images = tensor(new float[,] { { 0.9f, 0.1f, 0 }, { 0.2f, 0.7f, 0.1f }, { 0.6f, 0.3f, 0.1f }, { 0, 0.5f, 0.5f } });
        var m = ZeroShotClassifier.Evaluate(images, classes, new[] { 0, 1, 1, 2 }, new[] { "a", "b", "c" });
        Assert.Equal(0.5, m.Top1);            // images 0 and 1
        Assert.Equal(1.0, m.Top5);            // top-k clipped to 3 classes
        Assert.Equal(new[] { 1.0, 0.5, 0.0 }, m.PerClassAccuracy);
        Assert.Equal(1, m.Confusion[1, 0]);   // image 2 (b) predicted a
        Assert.Equal(1, m.Confusion[2, 1]);   // image 3 (c) tie → predicted b
    }

    [Fact]
    public void ClassEmbeddingIsTheRenormalisedMeanOfTemplates()
    {
        var t = tensor(new float[,] { { 1, 0 }, { 0, 1 }, { 1, 0 }, { 1, 0 } }); // class 0: two templates, class 1: two
        var e = ZeroShotClassifier.ClassEmbeddings(t, 2, 2);
        Assert.Equal(Math.Sqrt(0.5), e[0, 0].item<float>(), 5);
        Assert.Equal(Math.Sqrt(0.5), e[0, 1].item<float>(), 5);
        Assert.Equal(1.0, e[1, 0].item<float>(), 5);
        Assert.Equal(new[] { "an aerial photograph of x.", "an aerial photograph of y." },
            ZeroShotClassifier.Prompts(new[] { "x", "y" }, new[] { "an aerial photograph of {}." }));
    }

    [Fact]
    public void RetrievalWithSeveralCaptionsPerImageByHand()
    {
        // 3 images, 5 captions (image 0 has captions 0,1; image 1 has 2,3; image 2 has 4). Scores S[i,t]:
        var s = new float[,]
        {
            { 0.1f, 0.9f, 0.5f, 0.2f, 0.0f },  // image 0: best own caption (1) ranks first → I→T rank 0
            { 0.8f, 0.1f, 0.3f, 0.2f, 0.1f },  // image 1: own best 0.3; caption 0 (0.8) above → rank 1
            { 0.2f, 0.2f, 0.2f, 0.2f, 0.2f },  // image 2: all tied → pessimistic rank 4
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
        manual_seed(0);
        var centres = tensor(new float[,] { { 3, 0 }, { 0, 3 }, { -3, -3 } });
        Tensor Draw(long[] labels) => centres.index_select(0, tensor(labels)) + 0.5f * randn(labels.Length, 2);
        var trainY = Enumerable.Range(0, 60).Select(i => (long)(i % 3)).ToArray();
        var testY = Enumerable.Range(0, 30).Select(i => (long)(i % 3)).ToArray();
        var result = LinearProbe.Run(Draw(trainY), trainY, Draw(testY), testY, 3);
        Assert.True(result.TestAccuracy > 0.95, $"accuracy {result.TestAccuracy}");
        Assert.Equal(6, result.ValidationAccuracy.Count);
    }

    [Fact]
    public void DiagonalRetrievalByHand()
    {
        // Image i's caption is text i.
        var images = tensor(new float[,] { { 1, 0 }, { 0.8f, 0.6f }, { 0.6f, 0.8f } });
        var texts = tensor(new float[,] { { 1, 0 }, { 0, 1 }, { 0.8f, 0.6f } });
        // s = images·textsᵀ: row 0 = [1, 0, .8]; row 1 = [.8, .6, .64+.36=1.0]; row 2 = [.6, .8, .48+.48=.96]
        var r = RetrievalResult.ComputeDiagonal(images, texts);
        Assert.Equal(2.0 / 3, r.ImageToTextR1, 6);      // image 1's own caption (text 1, 0.6) is beaten by texts 0 and 2
        Assert.Equal(1.0, r.ImageToTextR5, 6);
        // text→image: column 0 [1, .8, .6] → rank 0; column 1 [0, .6, .8] → image 2 beats image 1; column 2 [.8, 1, .96] → image 1 beats image 2.
        Assert.Equal(1.0 / 3, r.TextToImageR1, 6);
        Assert.Throws<ArgumentException>(() => RetrievalResult.ComputeDiagonal(images, texts.narrow(0, 0, 2)));
    }
}
