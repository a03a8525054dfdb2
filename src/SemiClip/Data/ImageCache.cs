using System.Collections.Concurrent;
using SemiClip.Data.Images;
using SkiaSharp;

namespace SemiClip.Data;

/// <summary>Decodes images, optionally keeping them in memory already shrunk so their shorter side is
/// the model's image size (enough for the crops that follow): for small datasets, decoding happens once.
/// The cache holds at most <paramref name="budgetBytes"/> of pixels: the first images to arrive stay, and the
/// rest are decoded each time (no eviction, so a budget smaller than the dataset costs no churn).</summary>
public sealed class ImageCache(int imageSize, bool enabled, long budgetBytes = long.MaxValue) : IDisposable
{
    readonly ConcurrentDictionary<string, SKBitmap> _cache = new(StringComparer.Ordinal);
    long _bytes;

    /// <summary>The cache budget for <c>cache_images_mb</c>: the value given, or a quarter of the memory
    /// available to the process (the machine's, or the container's limit).</summary>
    public static long BudgetBytes(int? megabytes) =>
        megabytes is int mb ? (long)mb << 20 : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4;

    /// <summary>Bytes of pixels held now.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>The decoded image. The caller must not dispose it when caching is on.</summary>
    public SKBitmap Get(string path, out bool callerOwns)
    {
        if (enabled && _cache.TryGetValue(path, out var hit))
        {
            callerOwns = false;
            return hit;
        }
        var bitmap = ImageDecoder.Decode(path);
        if (!enabled)
        {
            callerOwns = true;
            return bitmap;
        }
        var shrunk = Shrink(bitmap);
        long size = shrunk.ByteCount;
        if (Interlocked.Add(ref _bytes, size) > budgetBytes)
        {
            Interlocked.Add(ref _bytes, -size);
            callerOwns = true;
            return shrunk;
        }
        callerOwns = false;
        var kept = _cache.GetOrAdd(path, shrunk);
        if (!ReferenceEquals(kept, shrunk))
        {
            Interlocked.Add(ref _bytes, -size);
            shrunk.Dispose();
        } // another thread cached it first
        return kept;
    }

    SKBitmap Shrink(SKBitmap bitmap)
    {
        int shorter = Math.Min(bitmap.Width, bitmap.Height);
        if (shorter <= imageSize)
            return bitmap;
        double s = (double)imageSize / shorter;
        var info = new SKImageInfo(
            (int)Math.Round(bitmap.Width * s),
            (int)Math.Round(bitmap.Height * s),
            SKColorType.Rgba8888,
            SKAlphaType.Unpremul
        );
        var small = bitmap.Resize(info, ImagePreprocessor.Bicubic);
        bitmap.Dispose();
        return small;
    }

    public int Count => _cache.Count;

    public void Dispose()
    {
        foreach (var b in _cache.Values)
            b.Dispose();
        _cache.Clear();
    }
}
