using SemiClip.Data;
using SemiClip.Tests.Support;
using SkiaSharp;

namespace SemiClip.Tests.Data;

public class ImageCacheTests
{
    [Fact]
    public void TheCacheNeverHoldsMoreThanItsBudgetAndHandsOverImagesPastIt()
    {
        using var dir = new TempDir();
        var paths = Enumerable
            .Range(0, 6)
            .Select(i => TestImages.Png(dir.File($"{i}.png"), 32, 32, new SKColor((byte)(40 * i), 0, 0)))
            .ToList();
        long perImage = 16 * 16 * 4; // shrunk so the shorter side is the model's 16 px, RGBA
        using var cache = new ImageCache(16, enabled: true, budgetBytes: 3 * perImage);
        var owned = new List<bool>();
        foreach (var p in paths)
        {
            var bitmap = cache.Get(p, out bool callerOwns);
            Assert.Equal(16, bitmap.Width);
            owned.Add(callerOwns);
            if (callerOwns)
                bitmap.Dispose();
        }
        Assert.Equal([false, false, false, true, true, true], owned);
        Assert.Equal(3, cache.Count);
        Assert.Equal(3 * perImage, cache.Bytes);
        // A cached image comes back from the cache, the others are decoded again.
        cache.Get(paths[0], out bool first);
        Assert.False(first);
        Assert.Equal(256L << 20, ImageCache.BudgetBytes(256));
        Assert.True(ImageCache.BudgetBytes(null) > 0);
    }
}
