using System.Text.Json;
using SemiClip.IO;
using SkiaSharp;

namespace SemiClip.Synthetic;

public enum SyntheticDomain
{
    Aerial,
    Tabletop,
}

/// <summary>Writes a synthetic domain to disk in the formats the real loaders read: PNG images in
/// class folders (<c>train/&lt;class&gt;/…</c>, <c>test/&lt;class&gt;/…</c>), JSON Lines caption files
/// (<c>train.jsonl</c>, <c>test.jsonl</c>), a keyword list and the class names. Deterministic by seed.</summary>
public static class SyntheticDataset
{
    public sealed record Options
    {
        public SyntheticDomain Domain { get; init; } = SyntheticDomain.Aerial;
        public int TrainPerClass { get; init; } = 100;
        public int TestPerClass { get; init; } = 20;

        /// <summary>Images per class of a validation split (val/ and val.jsonl; 0: none), drawn apart from train and
        /// test.</summary>
        public int ValPerClass { get; init; }
        public int ImageSize { get; init; } = 64;
        public int CaptionsPerImage { get; init; } = 5;
        public int Seed { get; init; }

        /// <summary>The domain's classes to draw (null: all of them), for a start that has seen only some.</summary>
        public IReadOnlyList<string>? Classes { get; init; }
    }

    public static string[] ClassesOf(SyntheticDomain d) =>
        d == SyntheticDomain.Aerial ? AerialScenes.Classes : TabletopScenes.Classes;

    /// <summary>Renders one image and its captions.</summary>
    public static (SKBitmap Image, List<string> Captions) Render(
        SyntheticDomain domain,
        string cls,
        int size,
        int captions,
        Random rng
    )
    {
        var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        SceneDescription scene;
        using (var canvas = new SKCanvas(bitmap))
        {
            var painter = new Painter(canvas, size, rng);
            scene =
                domain == SyntheticDomain.Aerial ? AerialScenes.Draw(cls, painter) : TabletopScenes.Draw(cls, painter);
        }
        Painter.AddNoise(bitmap, rng, 8);
        var text = CaptionWriter.Write(
            scene,
            rng,
            captions,
            domain == SyntheticDomain.Aerial ? "aerial photograph" : "photo"
        );
        return (bitmap, text);
    }

    /// <summary>Generates the domain under <paramref name="root"/>; returns the number of images written.</summary>
    public static int Generate(string root, Options o)
    {
        Directory.CreateDirectory(root);
        var all = ClassesOf(o.Domain);
        var unknown = o.Classes?.Except(all).ToList();
        if (unknown is { Count: > 0 })
            throw new ArgumentException(
                $"{string.Join(", ", unknown)}: not a class of the {o.Domain} domain ({string.Join(", ", all)})."
            );
        var classes = o.Classes?.ToArray() ?? all;
        int written = 0;
        (string Split, int PerClass, int Salt)[] splits =
        [
            ("train", o.TrainPerClass, 1),
            ("test", o.TestPerClass, 2),
            ("val", o.ValPerClass, 3),
        ];
        foreach (var (split, perClass, salt) in splits.Where(s => s.Split != "val" || s.PerClass > 0))
        {
            var lines = new List<string>();
            for (int c = 0; c < classes.Length; c++)
            {
                var folder = Path.Combine(root, split, classes[c].Replace(' ', '_'));
                Directory.CreateDirectory(folder);
                for (int i = 0; i < perClass; i++)
                {
                    var rng = new Random(
                        o.Seed * 1_000_003 + salt * 100_003 + Array.IndexOf(all, classes[c]) * 10_007 + i
                    );
                    var (image, captions) = Render(o.Domain, classes[c], o.ImageSize, o.CaptionsPerImage, rng);
                    var name = $"{classes[c].Replace(' ', '_')}_{i:D4}.png";
                    using (image)
                    using (var data = image.Encode(SKEncodedImageFormat.Png, 100))
                        File.WriteAllBytes(Path.Combine(folder, name), data.ToArray());
                    lines.Add(
                        JsonSerializer.Serialize(
                            new
                            {
                                image = $"{split}/{classes[c].Replace(' ', '_')}/{name}",
                                captions,
                                label = classes[c],
                            }
                        )
                    );
                    written++;
                }
            }
            AtomicFile.WriteAllText(Path.Combine(root, $"{split}.jsonl"), string.Join('\n', lines) + "\n");
        }
        var keywords =
            o.Domain == SyntheticDomain.Aerial
                ? AerialScenes.Classes.Concat(AerialScenes.ObjectWords)
                : TabletopScenes.Classes;
        AtomicFile.WriteAllText(Path.Combine(root, "keywords.txt"), string.Join('\n', keywords) + "\n");
        AtomicFile.WriteAllText(Path.Combine(root, "classes.txt"), string.Join('\n', classes) + "\n");
        return written;
    }
}
