using SkiaSharp;

namespace SemiClip.Synthetic;

/// <summary>The generic domain used for pretraining: frontal photos of coloured shapes on a table. It
/// shares colours, counts and spatial words with the aerial domain but none of its scenes or nouns,
/// so a model pretrained here has to adapt, as a web-pretrained CLIP does to remote sensing.</summary>
public static class TabletopScenes
{
    public static readonly string[] Classes = { "circle", "square", "triangle", "star", "ring", "cross" };

    public static SceneDescription Draw(string cls, Painter p)
    {
        var r = p.Rng;
        var backgrounds = new[] { new SKColor(150, 110, 70), new SKColor(225, 225, 220), new SKColor(90, 100, 120) };
        p.Fill(backgrounds[r.Next(backgrounds.Length)]);
        p.Rect(0, 0.7, 1, 0.3, Painter.Jitter(new SKColor(120, 90, 60), r)); // table edge
        int count = r.Next(1, 5);
        var colour = Palette.Pick(r);
        var spots = new List<(double, double)>();
        for (int i = 0; i < count; i++)
        {
            double x = 0.15 + r.NextDouble() * 0.7,
                y = 0.2 + r.NextDouble() * 0.55,
                s = 0.07 + r.NextDouble() * 0.06;
            DrawShape(p, cls, x, y, s, Painter.Jitter(colour.Color, r));
            spots.Add((x, y));
        }
        var objects = new List<SceneObject> { new(cls, cls + "s", count, colour.Name, Painter.RegionOf(spots)) };
        if (r.NextDouble() < 0.5)
        {
            var other = Classes[r.Next(Classes.Length)];
            if (other != cls)
            {
                var oc = Palette.Pick(r);
                double x = 0.15 + r.NextDouble() * 0.7,
                    y = 0.2 + r.NextDouble() * 0.5;
                DrawShape(p, other, x, y, 0.06, oc.Color);
                objects.Add(new SceneObject(other, other + "s", 1, oc.Name, Painter.RegionOf(new[] { (x, y) })));
            }
        }
        return new SceneDescription(cls, objects, new[] { "the shapes stand on a table" });
    }

    static void DrawShape(Painter p, string cls, double x, double y, double s, SKColor c)
    {
        switch (cls)
        {
            case "circle":
                p.Circle(x, y, s, c);
                break;
            case "square":
                p.Rect(x - s, y - s, 2 * s, 2 * s, c);
                break;
            case "triangle":
                p.Polygon(new[] { (x, y - s), (x + s, y + s), (x - s, y + s) }, c);
                break;
            case "star":
                p.Polygon(
                    Enumerable
                        .Range(0, 10)
                        .Select(i =>
                        {
                            double a = Math.PI * i / 5 - Math.PI / 2,
                                rr = i % 2 == 0 ? s * 1.2 : s * 0.5;
                            return (x + rr * Math.Cos(a), y + rr * Math.Sin(a));
                        })
                        .ToList(),
                    c
                );
                break;
            case "ring":
                p.Oval(x, y, s, s, c, stroke: s * 0.45);
                break;
            case "cross":
                p.Rect(x - s, y - s * 0.3, 2 * s, s * 0.6, c);
                p.Rect(x - s * 0.3, y - s, s * 0.6, 2 * s, c);
                break;
            default:
                throw new ArgumentException($"unknown shape '{cls}'");
        }
    }
}
