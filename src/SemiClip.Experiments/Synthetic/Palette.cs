using SkiaSharp;

namespace SemiClip.Synthetic;

/// <summary>Named colours that captions can mention.</summary>
public static class Palette
{
    public static readonly (string Name, SKColor Color)[] Vivid =
    {
        ("red", new SKColor(200, 40, 40)),
        ("blue", new SKColor(40, 70, 200)),
        ("white", new SKColor(235, 235, 235)),
        ("black", new SKColor(30, 30, 30)),
        ("yellow", new SKColor(230, 210, 40)),
        ("green", new SKColor(40, 160, 60)),
        ("orange", new SKColor(235, 130, 30)),
        ("grey", new SKColor(130, 130, 130)),
    };

    public static (string Name, SKColor Color) Pick(Random rng, params string[] names)
    {
        var pool = names.Length == 0 ? Vivid : Vivid.Where(v => names.Contains(v.Name)).ToArray();
        return pool[rng.Next(pool.Length)];
    }
}
