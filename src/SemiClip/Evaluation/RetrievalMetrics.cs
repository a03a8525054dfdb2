using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Evaluation;

/// <summary>Which retrieval protocol a report uses.</summary>
public enum RetrievalProtocol
{
    /// <summary>Every caption of the split, CLIP_benchmark's any-caption hit for image→text, pessimistic
    /// ties.</summary>
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
public sealed record RetrievalResult(
    double ImageToTextR1,
    double ImageToTextR5,
    double ImageToTextR10,
    double TextToImageR1,
    double TextToImageR5,
    double TextToImageR10
)
{
    public double MeanRecall =>
        (ImageToTextR1 + ImageToTextR5 + ImageToTextR10 + TextToImageR1 + TextToImageR5 + TextToImageR10) / 6;

    /// <summary>Tile sizes of the similarity matrix: memory stays at one tile (and its masks) however many images and
    /// captions are scored; the full matrix never exists.</summary>
    public const int DefaultImageTile = 2048,
        DefaultTextTile = 8192;

    /// <summary><paramref name="textToImage"/>[t] is the index of caption t's image. Scored in tiles of <paramref
    /// name="imageTile"/> × <paramref name="textTile"/> similarities, in two passes over the same tiles: first each
    /// image's best own caption and each caption's own-image score, then the counts of others scoring at least as high
    /// (comparisons in float32, exact as float64 would be, on the features' device).</summary>
    public static RetrievalResult Compute(
        Tensor imageFeatures,
        Tensor textFeatures,
        IReadOnlyList<int> textToImage,
        int imageTile = DefaultImageTile,
        int textTile = DefaultTextTile
    )
    {
        using var scope = NewDisposeScope();
        long n = imageFeatures.shape[0],
            m = textFeatures.shape[0];
        var device = imageFeatures.device;
        var images = imageFeatures.to(float32);
        var texts = textFeatures.to(float32).to(device);
        var owner = tensor(textToImage.Select(i => (long)i).ToArray()).to(device);
        var best = Scalars.Full(n, double.NegativeInfinity, float32, device); // each image's best own caption
        var truth = Scalars.Full(m, double.NegativeInfinity, float32, device); // each caption's own image's score
        var i2tRank = zeros(n, int64, device);
        var t2iRank = zeros(m, int64, device);
        foreach (bool counting in new[] { false, true })
            for (long i0 = 0; i0 < n; i0 += imageTile)
                for (long t0 = 0; t0 < m; t0 += textTile)
                {
                    using var tile = NewDisposeScope();
                    long ni = Math.Min(imageTile, n - i0),
                        mt = Math.Min(textTile, m - t0);
                    var sim = images.narrow(0, i0, ni).matmul(texts.narrow(0, t0, mt).t()); // ni × mt
                    var own = owner.narrow(0, t0, mt).unsqueeze(0).eq(Scalars.Range(ni, device).Plus(i0).unsqueeze(1));
                    if (!counting)
                    {
                        var ownOnly = sim.FilledWhere(own.logical_not(), double.NegativeInfinity);
                        best.narrow(0, i0, ni).copy_(best.narrow(0, i0, ni).maximum(ownOnly.amax(1)));
                        truth.narrow(0, t0, mt).copy_(truth.narrow(0, t0, mt).maximum(ownOnly.amax(0)));
                        continue;
                    }
                    // An image's rank: other images' captions scoring at least its best own; a caption's: other images
                    // scoring at least its own image (pessimistic ties).
                    var others = own.logical_not();
                    i2tRank
                        .narrow(0, i0, ni)
                        .add_(sim.ge(best.narrow(0, i0, ni).unsqueeze(1)).logical_and(others).sum(1L), Scalars.One);
                    t2iRank
                        .narrow(0, t0, mt)
                        .add_(sim.ge(truth.narrow(0, t0, mt).unsqueeze(0)).logical_and(others).sum(0L), Scalars.One);
                }
        var noCaption = best.isinf().cpu().data<bool>().ToArray();
        var i2t = i2tRank.cpu().data<long>().Select((r, i) => noCaption[i] ? int.MaxValue : (int)r).ToArray();
        return FromRanks(i2t, t2iRank.cpu().data<long>().Select(r => (int)r).ToArray());
    }

    /// <summary>open_clip's diagonal ranks: caption i belongs to image i; an item's rank is the number of
    /// others that score strictly higher. Tiled as <see cref="Compute"/> is.</summary>
    public static RetrievalResult ComputeDiagonal(
        Tensor imageFeatures,
        Tensor textFeatures,
        int tile = DefaultImageTile
    )
    {
        using var scope = NewDisposeScope();
        long n = imageFeatures.shape[0];
        if (textFeatures.shape[0] != n)
            throw new ArgumentException(
                $"diagonal retrieval needs one caption per image, "
                    + $"got {n} images and {textFeatures.shape[0]} captions."
            );
        var device = imageFeatures.device;
        var images = imageFeatures.to(float32);
        var texts = textFeatures.to(float32).to(device);
        var diagonal = Scalars.Full(n, double.NegativeInfinity, float32, device);
        var i2tRank = zeros(n, int64, device);
        var t2iRank = zeros(n, int64, device);
        foreach (bool counting in new[] { false, true })
            for (long i0 = 0; i0 < n; i0 += tile)
                for (long j0 = 0; j0 < n; j0 += tile)
                {
                    using var block = NewDisposeScope();
                    long ni = Math.Min(tile, n - i0),
                        nj = Math.Min(tile, n - j0);
                    var sim = images.narrow(0, i0, ni).matmul(texts.narrow(0, j0, nj).t());
                    if (!counting)
                    {
                        if (j0 != i0)
                            continue;
                        diagonal.narrow(0, i0, ni).copy_(sim.diagonal());
                        continue;
                    }
                    var aboveImage = sim.gt(diagonal.narrow(0, i0, ni).unsqueeze(1)).sum(1L);
                    var aboveText = sim.gt(diagonal.narrow(0, j0, nj).unsqueeze(0)).sum(0L);
                    i2tRank.narrow(0, i0, ni).add_(aboveImage, Scalars.One);
                    t2iRank.narrow(0, j0, nj).add_(aboveText, Scalars.One);
                }
        return FromRanks(
            i2tRank.cpu().data<long>().Select(r => (int)r).ToArray(),
            t2iRank.cpu().data<long>().Select(r => (int)r).ToArray()
        );
    }

    static RetrievalResult FromRanks(int[] i2t, int[] t2i)
    {
        double R(int[] ranks, int k) => ranks.Count(r => r < k) / (double)ranks.Length;
        return new RetrievalResult(R(i2t, 1), R(i2t, 5), R(i2t, 10), R(t2i, 1), R(t2i, 5), R(t2i, 10));
    }
}
