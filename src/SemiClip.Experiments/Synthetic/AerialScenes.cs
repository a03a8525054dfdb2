using SkiaSharp;

namespace SemiClip.Synthetic;

/// <summary>The specialist domain: top-down scenes in the spirit of remote-sensing datasets (UC Merced,
/// RSICD), each class drawn with a randomised layout, colours, textures and objects.</summary>
public static class AerialScenes
{
    public static readonly string[] Classes =
    {
        "farmland",
        "forest",
        "river",
        "beach",
        "residential",
        "parking lot",
        "airport",
        "desert",
        "harbour",
        "stadium",
    };

    /// <summary>Object and scene words for S-CLIP's keyword loss, besides the class names.</summary>
    public static readonly string[] ObjectWords =
    {
        "field",
        "tree",
        "road",
        "bridge",
        "water",
        "sand",
        "umbrella",
        "house",
        "car",
        "runway",
        "plane",
        "dune",
        "rock",
        "boat",
        "pier",
        "track",
        "barn",
        "sea",
    };

    public static SceneDescription Draw(string cls, Painter p) =>
        cls switch
        {
            "farmland" => Farmland(p),
            "forest" => Forest(p),
            "river" => River(p),
            "beach" => Beach(p),
            "residential" => Residential(p),
            "parking lot" => ParkingLot(p),
            "airport" => Airport(p),
            "desert" => Desert(p),
            "harbour" => Harbour(p),
            "stadium" => Stadium(p),
            _ => throw new ArgumentException($"unknown aerial class '{cls}'"),
        };

    static double U(Random r, double a, double b) => a + r.NextDouble() * (b - a);

    static SceneDescription Farmland(Painter p)
    {
        var r = p.Rng;
        p.Fill(new SKColor(120, 140, 60));
        int cols = r.Next(2, 5),
            rows = r.Next(2, 4);
        var fieldColours = new[]
        {
            ("green", new SKColor(70, 150, 50)),
            ("yellow", new SKColor(210, 190, 80)),
            ("brown", new SKColor(140, 100, 60)),
        };
        var used = new HashSet<string>();
        for (int i = 0; i < cols; i++)
            for (int j = 0; j < rows; j++)
            {
                var (name, c) = fieldColours[r.Next(fieldColours.Length)];
                used.Add(name);
                double x = (double)i / cols,
                    y = (double)j / rows;
                p.Rect(x + 0.01, y + 0.01, 1.0 / cols - 0.02, 1.0 / rows - 0.02, Painter.Jitter(c, r));
                for (int s = 0; s < 4; s++)
                    p.Line(
                        x + 0.02,
                        y + (s + 0.5) / 4 / rows,
                        x + 1.0 / cols - 0.02,
                        y + (s + 0.5) / 4 / rows,
                        Painter.Jitter(c, r, 40),
                        0.008
                    );
            }
        var objects = new List<SceneObject>
        {
            new("field", "fields", cols * rows, used.Count == 1 ? used.First() : null, null),
        };
        if (r.NextDouble() < 0.5)
        {
            double bx = U(r, 0.1, 0.8),
                by = U(r, 0.1, 0.8);
            p.Rect(bx, by, 0.09, 0.07, new SKColor(170, 40, 30));
            objects.Add(new SceneObject("barn", "barns", 1, "red", Painter.RegionOf(new[] { (bx, by) })));
        }
        return new SceneDescription("farmland", objects, new[] { $"the fields are {string.Join(" and ", used)}" });
    }

    static SceneDescription Forest(Painter p)
    {
        var r = p.Rng;
        p.Fill(new SKColor(30, 80, 35));
        int trees = r.Next(40, 90);
        for (int i = 0; i < trees; i++)
            p.Circle(r.NextDouble(), r.NextDouble(), U(r, 0.03, 0.07), Painter.Jitter(new SKColor(40, 110, 45), r, 30));
        var objects = new List<SceneObject> { new("tree", "trees", trees, "green", null) };
        var facts = new List<string> { "the trees are dense" };
        if (r.NextDouble() < 0.4)
        {
            bool vertical = r.NextDouble() < 0.5;
            double t = U(r, 0.2, 0.8);
            p.Band(
                vertical
                    ? new[] { (t, 0.0), (t + U(r, -0.2, 0.2), 0.5), (t, 1.0) }
                    : new[] { (0.0, t), (0.5, t + U(r, -0.2, 0.2)), (1.0, t) },
                new SKColor(150, 120, 80),
                0.05
            );
            objects.Add(
                new SceneObject("road", "roads", 1, "brown", vertical ? "from top to bottom" : "from left to right")
            );
        }
        return new SceneDescription("forest", objects, facts);
    }

    static SceneDescription River(Painter p)
    {
        var r = p.Rng;
        p.Fill(new SKColor(100, 140, 70));
        p.Speckle(new SKColor(90, 130, 60), 120);
        bool vertical = r.NextDouble() < 0.5;
        var pts = Enumerable
            .Range(0, 5)
            .Select(i => vertical ? (U(r, 0.35, 0.65), i / 4.0) : (i / 4.0, U(r, 0.35, 0.65)))
            .ToList();
        p.Band(pts, new SKColor(50, 90, 170), U(r, 0.12, 0.2));
        var objects = new List<SceneObject>
        {
            new("water", "water", 1, "blue", vertical ? "from top to bottom" : "from left to right"),
        };
        int trees = r.Next(0, 12);
        for (int i = 0; i < trees; i++)
            p.Circle(r.NextDouble(), r.NextDouble(), 0.035, new SKColor(40, 100, 40));
        if (trees > 0)
            objects.Add(new SceneObject("tree", "trees", trees, "green", null));
        if (r.NextDouble() < 0.5)
        {
            if (vertical)
                p.Rect(0.2, 0.45, 0.6, 0.07, new SKColor(150, 150, 150));
            else
                p.Rect(0.45, 0.2, 0.07, 0.6, new SKColor(150, 150, 150));
            objects.Add(new SceneObject("bridge", "bridges", 1, "grey", "in the middle"));
        }
        return new SceneDescription(
            "river",
            objects,
            new[] { vertical ? "the river flows from top to bottom" : "the river flows from left to right" }
        );
    }

    static SceneDescription Beach(Painter p)
    {
        var r = p.Rng;
        p.Fill(new SKColor(225, 205, 150));
        p.Speckle(new SKColor(215, 195, 140), 150, 0.008);
        int side = r.Next(4);
        double depth = U(r, 0.3, 0.5);
        var (sx, sy, sw, sh) = side switch
        {
            0 => (0.0, 0.0, 1.0, depth),
            1 => (0.0, 1 - depth, 1.0, depth),
            2 => (0.0, 0.0, depth, 1.0),
            _ => (1 - depth, 0.0, depth, 1.0),
        };
        p.Rect(sx, sy, sw, sh, Painter.Jitter(new SKColor(40, 110, 180), r));
        string seaSide = side switch
        {
            0 => "at the top",
            1 => "at the bottom",
            2 => "on the left",
            _ => "on the right",
        };
        int umbrellas = r.Next(0, 7);
        var col = Palette.Pick(r, "red", "yellow", "orange", "blue");
        var spots = new List<(double, double)>();
        for (int i = 0; i < umbrellas; i++)
        {
            double x,
                y;
            do
            {
                x = U(r, 0.05, 0.95);
                y = U(r, 0.05, 0.95);
            } while (x >= sx && x <= sx + sw && y >= sy && y <= sy + sh);
            p.Circle(x, y, 0.03, col.Color);
            spots.Add((x, y));
        }
        var objects = new List<SceneObject>
        {
            new("sea", "sea", 1, "blue", seaSide),
            new("sand", "sand", 1, "yellow", null),
        };
        if (umbrellas > 0)
            objects.Add(new SceneObject("umbrella", "umbrellas", umbrellas, col.Name, Painter.RegionOf(spots)));
        return new SceneDescription("beach", objects, new[] { $"the sea is {seaSide}" });
    }

    static SceneDescription Residential(Painter p)
    {
        var r = p.Rng;
        p.Fill(new SKColor(110, 140, 90));
        int n = r.Next(2, 4);
        for (int i = 1; i < n; i++)
        {
            p.Rect(i / (double)n - 0.02, 0, 0.04, 1, new SKColor(90, 90, 90));
            p.Rect(0, i / (double)n - 0.02, 1, 0.04, new SKColor(90, 90, 90));
        }
        var roof = Palette.Pick(r, "red", "grey", "orange", "white");
        int houses = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                for (int k = 0; k < r.Next(1, 4); k++)
                {
                    double cell = 1.0 / n;
                    p.Rect(
                        i * cell + U(r, 0.03, cell - 0.12),
                        j * cell + U(r, 0.03, cell - 0.12),
                        0.08,
                        0.07,
                        Painter.Jitter(roof.Color, r),
                        r.Next(0, 2) * 90
                    );
                    houses++;
                }
        int trees = r.Next(0, 8);
        for (int i = 0; i < trees; i++)
            p.Circle(r.NextDouble(), r.NextDouble(), 0.025, new SKColor(40, 110, 40));
        var objects = new List<SceneObject>
        {
            new("house", "houses", houses, roof.Name, null),
            new("road", "roads", 2 * (n - 1), "grey", null),
        };
        if (trees > 0)
            objects.Add(new SceneObject("tree", "trees", trees, "green", null));
        return new SceneDescription("residential", objects, new[] { $"the houses have {roof.Name} roofs" });
    }

    static SceneDescription ParkingLot(Painter p)
    {
        var r = p.Rng;
        p.Fill(new SKColor(85, 85, 90));
        int rows = r.Next(2, 4);
        var colours = new Dictionary<string, int>();
        var spots = new List<(double, double)>();
        for (int row = 0; row < rows; row++)
        {
            double y = 0.1 + row * 0.8 / rows;
            for (int s = 0; s < 8; s++)
            {
                double x = 0.06 + s * 0.11;
                p.Line(x, y, x, y + 0.16, new SKColor(230, 230, 230), 0.01);
                if (r.NextDouble() < 0.55)
                {
                    var c = Palette.Pick(r, "red", "blue", "white", "black", "yellow");
                    p.Rect(x + 0.015, y + 0.02, 0.08, 0.12, c.Color);
                    colours[c.Name] = colours.GetValueOrDefault(c.Name) + 1;
                    spots.Add((x, y));
                }
            }
        }
        int cars = colours.Values.Sum();
        string? main = colours.Count > 0 ? colours.MaxBy(kv => kv.Value).Key : null;
        return new SceneDescription(
            "parking lot",
            new[] { new SceneObject("car", "cars", cars, main, Painter.RegionOf(spots)) },
            main == null ? new[] { "the parking lot is empty" } : new[] { $"most cars are {main}" }
        );
    }

    static SceneDescription Airport(Painter p)
    {
        var r = p.Rng;
        p.Fill(new SKColor(140, 150, 110));
        double angle = r.Next(0, 4) * 45;
        p.Rect(0.05, 0.42, 0.9, 0.16, new SKColor(60, 60, 60), angle);
        for (int i = 0; i < 6; i++)
            p.Rect(0.1 + i * 0.14, 0.49, 0.07, 0.02, new SKColor(240, 240, 240), angle);
        int planes = r.Next(1, 4);
        var spots = new List<(double, double)>();
        for (int i = 0; i < planes; i++)
        {
            double x = U(r, 0.15, 0.85),
                y = r.NextDouble() < 0.5 ? U(r, 0.08, 0.25) : U(r, 0.75, 0.92);
            p.Rect(x - 0.07, y - 0.015, 0.14, 0.03, new SKColor(245, 245, 245));
            p.Rect(x - 0.015, y - 0.06, 0.03, 0.12, new SKColor(245, 245, 245));
            spots.Add((x, y));
        }
        return new SceneDescription(
            "airport",
            new[]
            {
                new SceneObject("runway", "runways", 1, "black", null),
                new SceneObject("plane", "planes", planes, "white", Painter.RegionOf(spots)),
            },
            new[] { "a long runway crosses the scene" }
        );
    }

    static SceneDescription Desert(Painter p)
    {
        var r = p.Rng;
        p.Fill(new SKColor(215, 170, 110));
        int dunes = r.Next(3, 7);
        for (int i = 0; i < dunes; i++)
        {
            double y = U(r, 0.05, 0.95);
            p.Band(
                new[] { (0.0, y), (0.3, y + U(r, -0.1, 0.1)), (0.7, y + U(r, -0.1, 0.1)), (1.0, y) },
                new SKColor(185, 135, 80),
                0.025
            );
        }
        int rocks = r.Next(0, 5);
        for (int i = 0; i < rocks; i++)
            p.Circle(r.NextDouble(), r.NextDouble(), 0.02, new SKColor(110, 90, 70));
        var objects = new List<SceneObject>
        {
            new("dune", "dunes", dunes, "orange", null),
            new("sand", "sand", 1, "yellow", null),
        };
        if (rocks > 0)
            objects.Add(new SceneObject("rock", "rocks", rocks, "brown", null));
        return new SceneDescription("desert", objects, new[] { "there is no vegetation" });
    }

    static SceneDescription Harbour(Painter p)
    {
        var r = p.Rng;
        p.Fill(new SKColor(45, 85, 150));
        bool landTop = r.NextDouble() < 0.5;
        p.Rect(0, landTop ? 0 : 0.75, 1, 0.25, new SKColor(140, 140, 130));
        int piers = r.Next(1, 4);
        for (int i = 0; i < piers; i++)
            p.Rect(0.15 + i * 0.28, landTop ? 0.2 : 0.35, 0.06, 0.45, new SKColor(170, 170, 165));
        int boats = r.Next(1, 9);
        var spots = new List<(double, double)>();
        for (int i = 0; i < boats; i++)
        {
            double x = U(r, 0.05, 0.95),
                y = landTop ? U(r, 0.3, 0.95) : U(r, 0.05, 0.7);
            p.Oval(x, y, 0.035, 0.015, new SKColor(240, 240, 240));
            spots.Add((x, y));
        }
        return new SceneDescription(
            "harbour",
            new[]
            {
                new SceneObject("boat", "boats", boats, "white", Painter.RegionOf(spots)),
                new SceneObject("pier", "piers", piers, "grey", null),
                new SceneObject("water", "water", 1, "blue", null),
            },
            new[] { landTop ? "the land is at the top" : "the land is at the bottom" }
        );
    }

    static SceneDescription Stadium(Painter p)
    {
        var r = p.Rng;
        p.Fill(new SKColor(120, 120, 115));
        p.Speckle(new SKColor(150, 150, 150), 80);
        double cx = U(r, 0.4, 0.6),
            cy = U(r, 0.4, 0.6),
            rx = U(r, 0.3, 0.4),
            ry = U(r, 0.22, 0.32);
        var track = Palette.Pick(r, "red", "orange", "blue");
        p.Oval(cx, cy, rx, ry, track.Color);
        p.Oval(cx, cy, rx * 0.78, ry * 0.7, new SKColor(50, 150, 60));
        p.Line(cx, cy - ry * 0.7, cx, cy + ry * 0.7, new SKColor(240, 240, 240), 0.008);
        return new SceneDescription(
            "stadium",
            new[]
            {
                new SceneObject("track", "tracks", 1, track.Name, null),
                new SceneObject("field", "fields", 1, "green", "in the middle"),
            },
            new[] { $"a {track.Name} running track surrounds a green field" }
        );
    }
}
