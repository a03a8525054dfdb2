using static TorchSharp.torch;

namespace SemiClip.Evaluation;

/// <summary>Which retrieval protocol a report uses.</summary>
public enum RetrievalProtocol
{
    /// <summary>Every caption of the split, CLIP_benchmark's any-caption hit for image→text, pessimistic ties.</summary>
    AllCaptions,
    /// <summary>The reference's (alinlab/s-clip, via open_clip's <c>get_clip_metrics</c>): one caption per image
    /// drawn by seed, the true pair on the diagonal of the N×N similarity, its rank counted by argsort (ties
    /// go to the true pair).</summary>
    OneCaptionPerImage,
}

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
        return FromRanks(i2t, t2i);
    }

    /// <summary>open_clip's diagonal ranks: caption i belongs to image i; an item's rank is the number of
    /// others that score strictly higher.</summary>
    public static RetrievalResult ComputeDiagonal(Tensor imageFeatures, Tensor textFeatures)
    {
        using var scope = NewDisposeScope();
        int n = (int)imageFeatures.shape[0];
        if (textFeatures.shape[0] != n) throw new ArgumentException($"diagonal retrieval needs one caption per image, " +
            $"got {n} images and {textFeatures.shape[0]} captions.");
        var s = imageFeatures.matmul(textFeatures.t()).to(float64).cpu().data<double>().ToArray();
        var i2t = new int[n];
        var t2i = new int[n];
        for (int i = 0; i < n; i++)
        {
            double truth = s[i * n + i];
            for (int j = 0; j < n; j++)
            {
                if (s[i * n + j] > truth) i2t[i]++;
                if (s[j * n + i] > truth) t2i[i]++;
            }
        }
        return FromRanks(i2t, t2i);
    }

    static RetrievalResult FromRanks(int[] i2t, int[] t2i)
    {
        double R(int[] ranks, int k) => ranks.Count(r => r < k) / (double)ranks.Length;
        return new RetrievalResult(R(i2t, 1), R(i2t, 5), R(i2t, 10), R(t2i, 1), R(t2i, 5), R(t2i, 10));
    }
}
