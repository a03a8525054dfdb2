namespace SemiClip.Data.Images;

/// <summary>open_clip's training augmentation settings: RandomResizedCrop's scale and aspect-ratio ranges, colour
/// jitter (brightness, contrast, saturation, as torchvision's ColorJitter, applied in that order) with its probability,
/// and random grey-scale. The defaults are SemiClip's earlier fixed crop (scale 0.9–1, ratio 3/4–4/3) and nothing else,
/// so a run that sets none of them draws exactly the random numbers it always did.</summary>
public sealed record Augmentation
{
    public (double Min, double Max) Scale { get; init; } = (0.9, 1.0);
    public (double Min, double Max) Ratio { get; init; } = (3.0 / 4, 4.0 / 3);

    /// <summary>Jitter strengths: each factor is drawn uniformly from [max(0, 1 − s), 1 + s].</summary>
    public (double Brightness, double Contrast, double Saturation) Jitter { get; init; }
    public double JitterProbability { get; init; }
    public double GreyProbability { get; init; }

    bool Jitters => JitterProbability > 0 && (Jitter.Brightness > 0 || Jitter.Contrast > 0 || Jitter.Saturation > 0);

    /// <summary>Adjusts RGBA pixels in place with draws from <paramref name="rng"/> (none when nothing is
    /// enabled).</summary>
    public void Colour(Span<byte> rgba, Random rng)
    {
        if (Jitters && rng.NextDouble() < JitterProbability)
        {
            double Factor(double s) =>
                s <= 0 ? 1 : Math.Max(0, 1 - s) + rng.NextDouble() * (1 + s - Math.Max(0, 1 - s));
            double brightness = Factor(Jitter.Brightness),
                contrast = Factor(Jitter.Contrast),
                saturation = Factor(Jitter.Saturation);
            // torchvision's contrast blends with the mean grey level of the (brightness-adjusted) image.
            double mean = 0;
            for (int i = 0; i < rgba.Length; i += 4)
                mean += Grey(rgba[i] * brightness, rgba[i + 1] * brightness, rgba[i + 2] * brightness);
            mean /= rgba.Length / 4;
            for (int i = 0; i < rgba.Length; i += 4)
            {
                double r = rgba[i] * brightness,
                    g = rgba[i + 1] * brightness,
                    b = rgba[i + 2] * brightness;
                (r, g, b) = (mean + (r - mean) * contrast, mean + (g - mean) * contrast, mean + (b - mean) * contrast);
                double grey = Grey(r, g, b);
                (r, g, b) = (
                    grey + (r - grey) * saturation,
                    grey + (g - grey) * saturation,
                    grey + (b - grey) * saturation
                );
                (rgba[i], rgba[i + 1], rgba[i + 2]) = (Byte(r), Byte(g), Byte(b));
            }
        }
        if (GreyProbability > 0 && rng.NextDouble() < GreyProbability)
            for (int i = 0; i < rgba.Length; i += 4)
            {
                byte l = ImagePreprocessor.Luma(rgba[i], rgba[i + 1], rgba[i + 2]);
                (rgba[i], rgba[i + 1], rgba[i + 2]) = (l, l, l);
            }
    }

    static double Grey(double r, double g, double b) => 0.299 * r + 0.587 * g + 0.114 * b;

    static byte Byte(double v) => (byte)Math.Clamp(Math.Round(v), 0, 255);
}
