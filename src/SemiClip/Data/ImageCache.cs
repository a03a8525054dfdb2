using System.Collections.Concurrent;
using SemiClip.Data.Images;
using SkiaSharp;

namespace SemiClip.Data;

/// <summary>Decodes images, optionally keeping them in memory already shrunk so their shorter side is
/// the model's image size (enough for the crops that follow): for small datasets, decoding happens once.</summary>
public sealed class ImageCache(int imageSize, bool enabled) : IDisposable
{
    readonly ConcurrentDictionary<string, SKBitmap> _cache = new(StringComparer.Ordinal);

    /// <summary>The decoded image. The caller must not dispose it when caching is on.</summary>
    public SKBitmap Get(string path, out bool callerOwns)
    {
        if (enabled && _cache.TryGetValue(path, out var hit)) { callerOwns = false; return hit; }
        var bitmap = ImageDecoder.Decode(path);
        if (!enabled) { callerOwns = true; return bitmap; }
        var shrunk = Shrink(bitmap);
        callerOwns = false;
        return _cache.GetOrAdd(path, shrunk);
    }

    SKBitmap Shrink(SKBitmap bitmap)
    {
        int shorter = Math.Min(bitmap.Width, bitmap.Height);
        if (shorter <= imageSize) return bitmap;
        double s = (double)imageSize / shorter;
        var info = new SKImageInfo((int)Math.Round(bitmap.Width * s), (int)Math.Round(bitmap.Height * s), SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var small = bitmap.Resize(info, ImagePreprocessor.Bicubic);
        bitmap.Dispose();
        return small;
    }

    public int Count => _cache.Count;

    public void Dispose()
    {
        foreach (var b in _cache.Values) b.Dispose();
        _cache.Clear();
    }
}
