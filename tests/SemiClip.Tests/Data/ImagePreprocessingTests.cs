using SemiClip.Data.Images;
using SemiClip.Model;
using SemiClip.Tests.Support;
using SkiaSharp;
using static TorchSharp.torch;

namespace SemiClip.Tests.Data;

/// <summary>Each resize mode, the normalisation and the grey mode against values worked out by hand, and the setting
/// travelling with the model from training to evaluation.</summary>
public class ImagePreprocessingTests
{
    /// <summary>A 48×16 image in three 16-pixel columns: red, green, blue.</summary>
    static SKBitmap Stripes()
    {
        var bmp = new SKBitmap(new SKImageInfo(48, 16, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 48; x++)
                bmp.SetPixel(
                    x,
                    y,
                    x < 16 ? SKColors.Red
                        : x < 32 ? new SKColor(0, 255, 0)
                        : SKColors.Blue
                );
        return bmp;
    }

    /// <summary>(R, G, B) of the pixel at (x, y) in 0–1, undoing the normalisation.</summary>
    static (float R, float G, float B) Pixel(float[] planes, ImagePreprocessing p, int size, int x, int y)
    {
        int i = y * size + x,
            plane = size * size;
        return (
            (float)(planes[i] * p.Std.R + p.Mean.R),
            (float)(planes[plane + i] * p.Std.G + p.Mean.G),
            (float)(planes[2 * plane + i] * p.Std.B + p.Mean.B)
        );
    }

    static float[] Eval(SKBitmap bmp, ImagePreprocessing p, int size = 16)
    {
        var prep = new ImagePreprocessor(size, p);
        var data = new float[prep.FloatsPerImage];
        prep.Eval(bmp, data);
        return data;
    }

    static void Near((float R, float G, float B) actual, (float R, float G, float B) expected, string what)
    {
        Assert.True(
            Math.Abs(actual.R - expected.R) < 0.02
                && Math.Abs(actual.G - expected.G) < 0.02
                && Math.Abs(actual.B - expected.B) < 0.02,
            $"{what}: got {actual}, expected {expected}"
        );
    }

    [Fact]
    public void ShortestCropsTheCentreSquashKeepsEveryColumnLongestPadsWithTheFill()
    {
        using var bmp = Stripes();
        var shortest = new ImagePreprocessing();
        var s = Eval(bmp, shortest);
        Near(Pixel(s, shortest, 16, 8, 8), (0, 1, 0), "shortest, centre");
        Near(Pixel(s, shortest, 16, 2, 8), (0, 1, 0), "shortest: the red third is cut off");

        var squash = shortest with { ResizeMode = "squash" };
        var q = Eval(bmp, squash);
        Near(Pixel(q, squash, 16, 2, 8), (1, 0, 0), "squash, left");
        Near(Pixel(q, squash, 16, 8, 8), (0, 1, 0), "squash, middle");
        Near(Pixel(q, squash, 16, 13, 8), (0, 0, 1), "squash, right");

        // longest: 48 → 16 wide, 16 → 5.33 high, centred: rows 0–4 and 11–15 are padding.
        var longest = shortest with { ResizeMode = "longest", FillColor = 128 };
        var l = Eval(bmp, longest);
        Near(Pixel(l, longest, 16, 8, 1), (128 / 255f, 128 / 255f, 128 / 255f), "longest, padding above");
        Near(Pixel(l, longest, 16, 8, 14), (128 / 255f, 128 / 255f, 128 / 255f), "longest, padding below");
        Near(Pixel(l, longest, 16, 2, 8), (1, 0, 0), "longest, left");
        Near(Pixel(l, longest, 16, 13, 8), (0, 0, 1), "longest, right");
    }

    [Fact]
    public void MeanAndStdNormaliseAndGreyModeUsesPilsLuma()
    {
        using var white = new SKBitmap(new SKImageInfo(16, 16, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        white.Erase(SKColors.White);
        var half = new ImagePreprocessing { Mean = (0.5, 0.5, 0.5), Std = (0.5, 0.5, 0.5) };
        Assert.All(Eval(white, half), v => Assert.Equal(1f, v, 5)); // (1 − 0.5) / 0.5

        using var red = new SKBitmap(new SKImageInfo(16, 16, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        red.Erase(SKColors.Red);
        var grey = new ImagePreprocessing { Mode = "L" };
        var g = Eval(red, grey);
        // PIL: L = (255·19595 + 32768) >> 16 = 76 for pure red, in all three channels.
        Assert.Equal(76, ImagePreprocessor.Luma(255, 0, 0));
        float level = 76 / 255f;
        Near(Pixel(g, grey, 16, 5, 5), (level, level, level), "grey red");
    }

    [Fact]
    public void ThePreprocessingTravelsInTheModelConfigAndMetadata()
    {
        var p = new ImagePreprocessing
        {
            Mean = (0.1, 0.2, 0.3),
            Std = (0.4, 0.5, 0.6),
            Interpolation = "bilinear",
            ResizeMode = "longest",
            Mode = "L",
        };
        var config = SemiClip.Tests.Model.ClipModelTests.Small() with { Preprocess = p };
        Assert.Equal(p, ClipConfig.Parse(config.ToJson(), "test").Preprocess);
        var legacy = System.Text.Json.Nodes.JsonNode.Parse(config.ToJson())!.AsObject();
        legacy.Remove("preprocess_cfg");
        // older files: OpenAI's
        Assert.Equal(new ImagePreprocessing(), ClipConfig.Parse(legacy.ToJsonString(), "test").Preprocess);
        legacy["preprocess_cfg"] = new System.Text.Json.Nodes.JsonObject { ["resize_mode"] = "stretch" };
        var e = Assert.Throws<InvalidDataException>(() => ClipConfig.Parse(legacy.ToJsonString(), "x"));
        Assert.Contains("preprocess_cfg: resize_mode 'stretch'", e.Message);

        using var dir = new TempDir();
        using var model = new ClipModel(config);
        ClipCheckpoint.Save(model, dir.File("m.safetensors"));
        using var loaded = ClipCheckpoint.Load(dir.File("m.safetensors"));
        Assert.Equal(p, loaded.Config.Preprocess);
    }

    [Fact]
    public void TheEmbedderPreparesImagesAsTheModelSays()
    {
        using var dir = new TempDir();
        // Encode disposes its bitmap
        var path = TestImages.Encode(dir.File("stripes.png"), Stripes(), SKEncodedImageFormat.Png);
        using var bmp = Stripes();
        var squash = new ImagePreprocessing { ResizeMode = "squash" };
        using var model = new ClipModel(SemiClip.Tests.Model.ClipModelTests.Small());
        model.eval();
        var tokenizer = SemiClip.Tokenization.ClipTokenizer.Load(null);
        Tensor Embedded() => new SemiClip.Evaluation.Embedder(model, tokenizer, CPU, 4, 1).EncodeImages([path]);
        using var asDefault = Embedded();
        model.SetPreprocessing(squash);
        using var asSquash = Embedded();
        using (no_grad())
        {
            using var manual = tensor(Eval(bmp, squash)).reshape(1, 3, 16, 16);
            using var expected = nn.functional.normalize(model.EncodeImage(manual), dim: -1);
            Assert.True(
                (asSquash - expected).abs().max().item<float>() < 1e-5,
                "the embedder did not use the model's resize mode"
            );
        }
        Assert.True((asSquash - asDefault).abs().max().item<float>() > 1e-3);
    }

    [Fact]
    public void TrainingSettingsAreRecordedInTheRunAndUsedWhenItIsLoaded()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var (code, output) = CliProcess.Run([
            "train",
            "--run-name",
            "prep",
            .. common.SelectMany(o => new[] { "--set", o }),
            "--set",
            "steps=1",
            "--set",
            "image_mean=[0.5, 0.5, 0.5]",
            "--set",
            "image_std=[0.25, 0.25, 0.25]",
            "--set",
            "image_resize_mode=longest",
            "--set",
            "image_mode=L",
        ]);
        Assert.True(code == 0, output);
        Assert.Contains("\"resize_mode\": \"longest\"", File.ReadAllText(dir.File("runs/prep/model_config.json")));
        using var bundle = ModelBundle.Load(dir.File("runs/prep"));
        Assert.Equal(
            new ImagePreprocessing
            {
                Mean = (0.5, 0.5, 0.5),
                Std = (0.25, 0.25, 0.25),
                ResizeMode = "longest",
                Mode = "L",
            },
            bundle.Model.Config.Preprocess
        );

        (code, output) = CliProcess.Run([
            "train",
            "--run-name",
            "bad",
            .. common.SelectMany(o => new[] { "--set", o }),
            "--set",
            "image_mean=[0.5, 0.5]",
            "--set",
            "image_resize_mode=stretch",
        ]);
        Assert.NotEqual(0, code);
        Assert.Contains("image_mean: must be 3 numbers", output);
        Assert.Contains("image_resize_mode: 'stretch' is not one of shortest, squash, longest", output);
    }
}
