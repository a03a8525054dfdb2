using SkiaSharp;

namespace SemiClip.Synthetic;

/// <summary>Drawing helpers on a square canvas addressed in unit coordinates (0..1), so scenes look the
/// same at any pixel size.</summary>
public sealed class Painter(SKCanvas canvas, int size, Random rng)
{
    public Random Rng { get; } = rng;
    public int Size { get; } = size;

    float S(double v) => (float)(v * Size);

    public static SKColor Jitter(SKColor c, Random rng, int amount = 18) =>
        new(
            (byte)Math.Clamp(c.Red + rng.Next(-amount, amount + 1), 0, 255),
            (byte)Math.Clamp(c.Green + rng.Next(-amount, amount + 1), 0, 255),
            (byte)Math.Clamp(c.Blue + rng.Next(-amount, amount + 1), 0, 255)
        );

    public void Fill(SKColor c) => canvas.Clear(Jitter(c, Rng));

    public void Rect(double x, double y, double w, double h, SKColor c, double angle = 0)
    {
        using var p = new SKPaint { Color = c, IsAntialias = true };
        canvas.Save();
        canvas.RotateDegrees((float)angle, S(x + w / 2), S(y + h / 2));
        canvas.DrawRect(S(x), S(y), S(w), S(h), p);
        canvas.Restore();
    }

    public void Circle(double cx, double cy, double r, SKColor c)
    {
        using var p = new SKPaint { Color = c, IsAntialias = true };
        canvas.DrawCircle(S(cx), S(cy), Math.Max(0.6f, S(r)), p);
    }

    public void Oval(double cx, double cy, double rx, double ry, SKColor c, double stroke = 0)
    {
        using var p = new SKPaint
        {
            Color = c,
            IsAntialias = true,
            Style = stroke > 0 ? SKPaintStyle.Stroke : SKPaintStyle.Fill,
            StrokeWidth = S(stroke),
        };
        canvas.DrawOval(S(cx), S(cy), S(rx), S(ry), p);
    }

    public void Line(double x0, double y0, double x1, double y1, SKColor c, double width)
    {
        using var p = new SKPaint
        {
            Color = c,
            IsAntialias = true,
            StrokeWidth = Math.Max(0.6f, S(width)),
            StrokeCap = SKStrokeCap.Butt,
        };
        canvas.DrawLine(S(x0), S(y0), S(x1), S(y1), p);
    }

    /// <summary>A smooth band through the given points (rivers, roads, coastlines).</summary>
    public void Band(IReadOnlyList<(double X, double Y)> points, SKColor c, double width)
    {
        using var path = new SKPath();
        path.MoveTo(S(points[0].X), S(points[0].Y));
        for (int i = 1; i < points.Count - 1; i++)
            path.QuadTo(
                S(points[i].X),
                S(points[i].Y),
                S((points[i].X + points[i + 1].X) / 2),
                S((points[i].Y + points[i + 1].Y) / 2)
            );
        path.LineTo(S(points[^1].X), S(points[^1].Y));
        using var p = new SKPaint
        {
            Color = c,
            IsAntialias = true,
            Style = SKPaintStyle.Stroke,
            StrokeWidth = S(width),
            StrokeCap = SKStrokeCap.Round,
        };
        canvas.DrawPath(path, p);
    }

    public void Polygon(IReadOnlyList<(double X, double Y)> points, SKColor c)
    {
        using var path = new SKPath();
        path.MoveTo(S(points[0].X), S(points[0].Y));
        foreach (var (x, y) in points.Skip(1))
            path.LineTo(S(x), S(y));
        path.Close();
        using var p = new SKPaint { Color = c, IsAntialias = true };
        canvas.DrawPath(path, p);
    }

    /// <summary>Speckle texture: small random dots darker and lighter than the base colour.</summary>
    public void Speckle(SKColor c, int dots, double radius = 0.012)
    {
        for (int i = 0; i < dots; i++)
            Circle(Rng.NextDouble(), Rng.NextDouble(), radius * (0.5 + Rng.NextDouble()), Jitter(c, Rng, 35));
    }

    /// <summary>Per-pixel sensor noise applied at the end.</summary>
    public static void AddNoise(SKBitmap bitmap, Random rng, int amplitude)
    {
        var span = bitmap.GetPixelSpan();
        unsafe
        {
            byte* px = (byte*)bitmap.GetPixels();
            for (int i = 0; i < span.Length; i += 4)
                for (int k = 0; k < 3; k++)
                    px[i + k] = (byte)Math.Clamp(px[i + k] + rng.Next(-amplitude, amplitude + 1), 0, 255);
        }
    }

    public static string RegionOf(IEnumerable<(double X, double Y)> points)
    {
        var list = points.ToList();
        if (list.Count == 0)
            return "in the middle";
        double x = list.Average(p => p.X),
            y = list.Average(p => p.Y);
        string v =
            y < 0.4 ? "top"
            : y > 0.6 ? "bottom"
            : "";
        string h =
            x < 0.4 ? "left"
            : x > 0.6 ? "right"
            : "";
        return (v, h) switch
        {
            ("", "") => "in the middle",
            ("", _) => $"on the {h}",
            (_, "") => $"at the {v}",
            _ => $"in the {v} {h}",
        };
    }
}
