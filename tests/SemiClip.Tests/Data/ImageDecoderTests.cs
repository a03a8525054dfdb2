using SemiClip.Data.Images;
using SemiClip.Tests.Support;
using SkiaSharp;

namespace SemiClip.Tests.Data;

public class ImageDecoderTests
{
    static void AssertColour(SKBitmap b, int x, int y, SKColor expected, int tolerance = 12)
    {
        var c = b.GetPixel(x, y);
        Assert.True(
            Math.Abs(c.Red - expected.Red) <= tolerance
                && Math.Abs(c.Green - expected.Green) <= tolerance
                && Math.Abs(c.Blue - expected.Blue) <= tolerance,
            $"pixel ({x},{y}) is {c}, expected about {expected}"
        );
    }

    [Theory]
    [InlineData("png")]
    [InlineData("jpg")]
    [InlineData("webp")]
    public void DecodesSkiaFormats(string ext)
    {
        using var dir = new TempDir();
        var format = ext switch
        {
            "png" => SKEncodedImageFormat.Png,
            "jpg" => SKEncodedImageFormat.Jpeg,
            _ => SKEncodedImageFormat.Webp,
        };
        var path = TestImages.Encode(
            dir.File("a." + ext),
            TestImages.Halves(16, 8, SKColors.Red, SKColors.Blue),
            format,
            100
        );
        using var b = ImageDecoder.Decode(path);
        Assert.Equal((16, 8), (b.Width, b.Height));
        AssertColour(b, 2, 4, SKColors.Red, 40);
        AssertColour(b, 13, 4, SKColors.Blue, 40);
    }

    [Fact]
    public void DecodesBmpAndGif()
    {
        using var dir = new TempDir();
        using (var b = ImageDecoder.Decode(TestImages.Bmp(dir.File("a.bmp"), 5, 3, new SKColor(10, 200, 30))))
        {
            Assert.Equal((5, 3), (b.Width, b.Height));
            AssertColour(b, 4, 2, new SKColor(10, 200, 30), 0);
        }
        using var g = ImageDecoder.Decode(TestImages.Gif(dir.File("a.gif")));
        Assert.Equal((1, 1), (g.Width, g.Height));
        AssertColour(g, 0, 0, SKColors.Red, 0);
    }

    [Theory]
    [InlineData(new byte[] { 200, 100, 50 })]
    [InlineData(new byte[] { 200, 100, 50, 255 })]
    [InlineData(new byte[] { 77 })]
    public void DecodesTiffRgbRgbaAndGrey(byte[] pixel)
    {
        using var dir = new TempDir();
        using var b = ImageDecoder.Decode(TestImages.Tiff(dir.File("a.tif"), 256, 256, pixel));
        Assert.Equal((256, 256), (b.Width, b.Height));
        var expected =
            pixel.Length == 1 ? new SKColor(pixel[0], pixel[0], pixel[0]) : new SKColor(pixel[0], pixel[1], pixel[2]);
        AssertColour(b, 100, 200, expected, 0);
    }

    [Fact]
    public void HonoursExifOrientation()
    {
        using var dir = new TempDir();
        // Orientation 6: the stored image must be turned 90° clockwise; its left half ends up on top.
        var path = TestImages.JpegWithOrientation(
            dir.File("r.jpg"),
            TestImages.Halves(16, 8, SKColors.Red, SKColors.Blue),
            6
        );
        using var b = ImageDecoder.Decode(path);
        Assert.Equal((8, 16), (b.Width, b.Height));
        AssertColour(b, 4, 2, SKColors.Red, 50);
        AssertColour(b, 4, 13, SKColors.Blue, 50);
    }

    [Fact]
    public void MissingTruncatedAndGarbageFilesNameTheFile()
    {
        using var dir = new TempDir();
        Assert.Contains(
            "nope.png",
            Assert.Throws<FileNotFoundException>(() => ImageDecoder.Decode(dir.File("nope.png"))).Message
        );
        var garbage = dir.File("garbage.jpg");
        File.WriteAllText(garbage, "this is not an image");
        Assert.Contains("garbage.jpg", Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(garbage)).Message);
        var full = TestImages.Encode(
            dir.File("full.jpg"),
            TestImages.Halves(64, 64, SKColors.Red, SKColors.Blue),
            SKEncodedImageFormat.Jpeg
        );
        var truncated = dir.File("truncated.jpg");
        var bytes = File.ReadAllBytes(full);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        Assert.Contains(
            "truncated.jpg",
            Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(truncated)).Message
        );
        var tif = TestImages.Tiff(dir.File("t.tif"), 64, 64, new byte[] { 1, 2, 3 });
        var tb = File.ReadAllBytes(tif);
        File.WriteAllBytes(tif, tb[..200]);
        Assert.Contains("t.tif", Assert.ThrowsAny<Exception>(() => ImageDecoder.Decode(tif)).Message);
    }

    [Fact]
    public void EvalTransformResizesShorterSideCropsCentreAndNormalises()
    {
        // 40×20 image: left quarter red, the rest blue → after resize to 16 (shorter side) and centre crop
        // the visible window is the middle 20×20 of the original, entirely blue.
        var bmp = new SKBitmap(new SKImageInfo(40, 20, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < 20; y++)
            for (int x = 0; x < 40; x++)
                bmp.SetPixel(x, y, x < 10 ? SKColors.Red : SKColors.Blue);
        var prep = new ImagePreprocessor(16);
        var buffer = new float[prep.FloatsPerImage];
        prep.Eval(bmp, buffer);
        float blueChannelValue = (1f - ImagePreprocessor.Mean[2]) / ImagePreprocessor.Std[2];
        float redChannelZero = (0f - ImagePreprocessor.Mean[0]) / ImagePreprocessor.Std[0];
        Assert.Equal(redChannelZero, buffer[0], 2); // R plane, top-left
        Assert.Equal(blueChannelValue, buffer[2 * 256 + 255], 2); // B plane, bottom-right
    }

    [Fact]
    public void TrainTransformIsDeterministicForAGivenRandomStream()
    {
        var bmp = TestImages.Halves(50, 30, SKColors.Red, SKColors.Green);
        var prep = new ImagePreprocessor(16) { HorizontalFlip = true };
        var a = new float[prep.FloatsPerImage];
        var b = new float[prep.FloatsPerImage];
        prep.Train(bmp, new Random(5), a);
        prep.Train(bmp, new Random(5), b);
        Assert.Equal(a, b);
    }
}
