using static TorchSharp.torch;

namespace SemiClip.Evaluation;

/// <summary>Image–text retrieval recall at 1, 5, 10 and their mean, CLIP_benchmark's convention with
/// several captions per image: image→text is a hit when any of the image's captions is in the top k;
/// text→image is computed per caption. Ties are broken pessimistically (an equal-scored wrong item
/// ranks ahead), so a constant model cannot score.</summary>
public sealed record RetrievalResult(double ImageToTextR1, double ImageToTextR5, double ImageToTextR10,
                                     double TextToImageR1, double TextToImageR5, double TextToImageR10)
{
    public double MeanRecall => (ImageToTextR1 + ImageToTextR5 + ImageToTextR10 + TextToImageR1 + TextToImageR5 + TextToImageR10) / 6;

    /// <summary><paramref name="textToImage"/>[t] is the index of caption t's image.</summary>
    public static RetrievalResult Compute(Tensor imageFeatures, Tensor textFeatures, IReadOnlyList<int> textToImage)
    {
        using var scope = NewDisposeScope();
        int n = (int)imageFeatures.shape[0], m = (int)textFeatures.shape[0];
        var s = imageFeatures.matmul(textFeatures.t()).to(float64).cpu().data<double>().ToArray(); // n×m
        // An image's rank is that of its best-scored caption: the number of other images' captions scoring at least as high.
        var i2t = new int[n];
        for (int i = 0; i < n; i++)
        {
            double best = double.NegativeInfinity;
            for (int t = 0; t < m; t++) if (textToImage[t] == i) best = Math.Max(best, s[i * m + t]);
            int rank = 0;
            for (int u = 0; u < m; u++) if (textToImage[u] != i && s[i * m + u] >= best) rank++;
            i2t[i] = double.IsNegativeInfinity(best) ? int.MaxValue : rank;
        }
        var t2i = new int[m];
        for (int t = 0; t < m; t++)
        {
            int target = textToImage[t];
            double v = s[target * m + t];
            int rank = 0;
            for (int i = 0; i < n; i++) if (i != target && s[i * m + t] >= v) rank++;
            t2i[t] = rank;
        }
        double R(int[] ranks, int k) => ranks.Count(r => r < k) / (double)ranks.Length;
        return new RetrievalResult(R(i2t, 1), R(i2t, 5), R(i2t, 10), R(t2i, 1), R(t2i, 5), R(t2i, 10));
    }
}
