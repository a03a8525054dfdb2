using SkiaSharp;

namespace SemiClip.Data.Images;

/// <summary>CLIP's image pipeline, as the model's <see cref="ImagePreprocessing"/> says. Eval: by default resize the
/// shorter side to the model size (bicubic, Catmull-Rom like PIL), centre crop, scale to [0, 1], normalise with
/// OpenAI's mean/std; squash and longest + pad on request. Train: open_clip's RandomResizedCrop (area scale 0.9–1.0,
/// aspect 3/4–4/3) and an optional horizontal flip. Output is channel-first floats, ready for a batch tensor.</summary>
public sealed class ImagePreprocessor(int imageSize, ImagePreprocessing? preprocessing = null)
{
    /// <summary>OpenAI's statistics, the default of <see cref="ImagePreprocessing"/>.</summary>
    public static readonly IReadOnlyList<float> Mean = Array.AsReadOnly<float>([0.48145466f, 0.4578275f, 0.40821073f]);
    public static readonly IReadOnlyList<float> Std = Array.AsReadOnly<float>([0.26862954f, 0.26130258f, 0.27577711f]);

    public ImagePreprocessing Preprocessing { get; } = preprocessing ?? new ImagePreprocessing();
    readonly float[] _mean = Floats((preprocessing ?? new ImagePreprocessing()).Mean);
    readonly float[] _std = Floats((preprocessing ?? new ImagePreprocessing()).Std);

    static float[] Floats((double R, double G, double B) v) => [(float)v.R, (float)v.G, (float)v.B];

    /// <summary>PIL's bicubic kernel (a = −0.5), used wherever SemiClip resizes.</summary>
    public static readonly SKSamplingOptions Bicubic = new(SKCubicResampler.CatmullRom);

    public int ImageSize { get; } = imageSize;
    public bool HorizontalFlip { get; init; }

    /// <summary>The training augmentation beyond the flip: crop scale and ratio, colour jitter, grey-scale.</summary>
    public Augmentation Augment { get; init; } = new();

    public int FloatsPerImage => 3 * ImageSize * ImageSize;

    /// <summary>Deterministic evaluation transform, by the model's resize mode.</summary>
    public void Eval(SKBitmap source, Span<float> destination)
    {
        int w = source.Width,
            h = source.Height;
        var whole = new SKRect(0, 0, w, h);
        switch (Preprocessing.ResizeMode)
        {
            case "squash":
                Render(source, whole, new SKRect(0, 0, ImageSize, ImageSize), flip: false, destination);
                return;
            case "longest":
                {
                    double s = (double)ImageSize / Math.Max(w, h);
                    float rw = (float)(w * s),
                        rh = (float)(h * s);
                    float x = (ImageSize - rw) / 2,
                        y = (ImageSize - rh) / 2;
                    Render(source, whole, new SKRect(x, y, x + rw, y + rh), flip: false, destination);
                    return;
                }
            default:
                {
                    double scale = (double)ImageSize / Math.Min(w, h);
                    int rw = Math.Max(ImageSize, (int)Math.Round(w * scale)),
                        rh = Math.Max(ImageSize, (int)Math.Round(h * scale));
                    // Centre crop of the resized image, expressed as a source rectangle.
                    float cx = (rw - ImageSize) / 2f / (float)scale,
                        cy = (rh - ImageSize) / 2f / (float)scale;
                    var src = new SKRect(cx, cy, cx + ImageSize / (float)scale, cy + ImageSize / (float)scale);
                    Render(source, src, new SKRect(0, 0, ImageSize, ImageSize), flip: false, destination);
                    return;
                }
        }
    }

    /// <summary>Training augmentation drawn from <paramref name="rng"/>.</summary>
    public void Train(SKBitmap source, Random rng, Span<float> destination)
    {
        int w = source.Width,
            h = source.Height;
        double area = (double)w * h;
        SKRect crop = new(0, 0, w, h);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            var (minScale, maxScale) = Augment.Scale;
            var (minRatio, maxRatio) = Augment.Ratio;
            double target = area * (minScale + rng.NextDouble() * (maxScale - minScale));
            double logRatio = Math.Log(minRatio) + rng.NextDouble() * (Math.Log(maxRatio) - Math.Log(minRatio));
            double ratio = Math.Exp(logRatio);
            int cw = (int)Math.Round(Math.Sqrt(target * ratio)),
                ch = (int)Math.Round(Math.Sqrt(target / ratio));
            if (cw > 0 && ch > 0 && cw <= w && ch <= h)
            {
                int x = rng.Next(0, w - cw + 1),
                    y = rng.Next(0, h - ch + 1);
                crop = new SKRect(x, y, x + cw, y + ch);
                break;
            }
        }
        bool flip = HorizontalFlip && rng.NextDouble() < 0.5;
        Render(source, crop, new SKRect(0, 0, ImageSize, ImageSize), flip, destination, pixels =>
            Augment.Colour(pixels, rng)
        );
    }

    void Render(
        SKBitmap source,
        SKRect sourceRect,
        SKRect targetRect,
        bool flip,
        Span<float> destination,
        Action<Span<byte>>? adjust = null
    )
    {
        if (destination.Length != FloatsPerImage)
            throw new ArgumentException($"destination holds {destination.Length} floats, expected {FloatsPerImage}.");
        using var target = new SKBitmap(
            new SKImageInfo(ImageSize, ImageSize, SKColorType.Rgba8888, SKAlphaType.Unpremul)
        );
        using (var canvas = new SKCanvas(target))
        using (var image = SKImage.FromBitmap(source))
        {
            byte fill = (byte)Preprocessing.FillColor;
            canvas.Clear(new SKColor(fill, fill, fill));
            if (flip)
            {
                canvas.Translate(ImageSize, 0);
                canvas.Scale(-1, 1);
            }
            canvas.DrawImage(image, sourceRect, targetRect, Preprocessing.Sampling, null);
        }
        adjust?.Invoke(target.GetPixelSpan());
        ToNormalisedChannels(target, destination);
    }

    /// <summary>RGBA bytes → normalised planar RGB floats (grey in all three planes for mode L).</summary>
    public void ToNormalisedChannels(SKBitmap rgba, Span<float> destination)
    {
        var pixels = rgba.GetPixelSpan();
        int plane = ImageSize * ImageSize;
        bool grey = Preprocessing.Mode == "L";
        for (int i = 0; i < plane; i++)
        {
            int o = i * 4;
            float r = pixels[o] / 255f,
                g = pixels[o + 1] / 255f,
                b = pixels[o + 2] / 255f;
            if (grey)
                r = g = b = Luma(pixels[o], pixels[o + 1], pixels[o + 2]) / 255f;
            destination[i] = (r - _mean[0]) / _std[0];
            destination[plane + i] = (g - _mean[1]) / _std[1];
            destination[2 * plane + i] = (b - _mean[2]) / _std[2];
        }
    }

    /// <summary>PIL's RGB → L (ITU-R 601 luma, 0.299 R + 0.587 G + 0.114 B) in PIL's own 16-bit fixed point.</summary>
    public static byte Luma(byte r, byte g, byte b) => (byte)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}
