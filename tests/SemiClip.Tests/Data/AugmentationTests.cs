using SemiClip.Data.Images;
using SkiaSharp;

namespace SemiClip.Tests.Data;

/// <summary>The training augmentation settings against values worked out by hand.</summary>
public class AugmentationTests
{
    static byte[] Uniform(byte r, byte g, byte b, int pixels = 16)
    {
        var rgba = new byte[pixels * 4];
        for (int i = 0; i < rgba.Length; i += 4)
            (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]) = (r, g, b, 255);
        return rgba;
    }

    [Fact]
    public void TheDefaultsDrawNoRandomNumbersSoEarlierRunsReplayExactly()
    {
        var rng = new Random(4);
        var pixels = Uniform(10, 20, 30);
        new Augmentation().Colour(pixels, rng);
        Assert.Equal(new Random(4).Next(), rng.Next());
        Assert.Equal(Uniform(10, 20, 30), pixels);
    }

    [Fact]
    public void BrightnessScalesContrastKeepsAUniformImageAndGreyScaleUsesPilsLuma()
    {
        var brightness = new Augmentation { Jitter = (0.5, 0, 0), JitterProbability = 1 };
        for (int seed = 0; seed < 20; seed++)
        {
            var pixels = Uniform(100, 100, 100);
            var rng = new Random(seed);
            var replay = new Random(seed);
            replay.NextDouble(); // the draw that applies the jitter (probability 1)
            double factor = 0.5 + replay.NextDouble() * 1.0; // then the factor, uniform in [1 − 0.5, 1 + 0.5]
            brightness.Colour(pixels, rng);
            Assert.Equal((byte)Math.Round(100 * factor), pixels[0]);
            Assert.Equal(pixels[0], pixels[5]);
        }
        var contrast = new Augmentation { Jitter = (0, 0.9, 0), JitterProbability = 1 };
        var flat = Uniform(100, 150, 200);
        contrast.Colour(flat, new Random(1));
        // Contrast blends each pixel with the image's mean grey; a uniform image moves towards that grey, evenly.
        double grey = 0.299 * 100 + 0.587 * 150 + 0.114 * 200;
        var again = new Random(1);
        again.NextDouble();
        double f = 0.1 + again.NextDouble() * 1.8;
        Assert.Equal((byte)Math.Round(grey + (100 - grey) * f), flat[0]);
        Assert.Equal((byte)Math.Round(grey + (200 - grey) * f), flat[2]);

        var red = Uniform(255, 0, 0);
        new Augmentation { GreyProbability = 1 }.Colour(red, new Random(0));
        Assert.Equal([76, 76, 76, 255], red[..4]);
    }

    [Fact]
    public void TheCropFollowsTheScaleAndRatioSettings()
    {
        // A 64×64 image, white with one black quadrant: a crop of exactly a quarter of the area with ratio 1 is a
        // 32×32 square, so the black share of the output tells its size.
        using var image = new SKBitmap(new SKImageInfo(64, 64, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        image.Erase(SKColors.White);
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
                image.SetPixel(x, y, SKColors.Black);
        var prep = new ImagePreprocessor(16)
        {
            Augment = new Augmentation { Scale = (1, 1), Ratio = (1, 1) },
        };
        var whole = new float[prep.FloatsPerImage];
        prep.Train(image, new Random(0), whole);
        double BlackShare(float[] planes) => planes.Take(256).Count(v => v < 0) / 256.0;
        Assert.Equal(0.25, BlackShare(whole), 2); // the whole image: a quarter black
        var quarter = new ImagePreprocessor(16)
        {
            Augment = new Augmentation { Scale = (0.25, 0.25), Ratio = (1, 1) },
        };
        for (int seed = 0; seed < 10; seed++)
        {
            var data = new float[quarter.FloatsPerImage];
            quarter.Train(image, new Random(seed), data);
            // The same draws by hand: area and ratio are fixed, then the window's corner.
            var replay = new Random(seed);
            replay.NextDouble();
            replay.NextDouble();
            int x = replay.Next(0, 33),
                y = replay.Next(0, 33);
            double expected = Math.Max(0, 32 - x) * Math.Max(0, 32 - y) / 1024.0; // black part of a 32×32 window
            Assert.True(
                Math.Abs(BlackShare(data) - expected) < 0.08,
                $"seed {seed}: black {BlackShare(data)}, expected {expected}"
            );
        }
    }
}
