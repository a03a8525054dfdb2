using SemiClip.Model;
using SemiClip.Tests.Support;
using static TorchSharp.torch;

namespace SemiClip.Tests.Model;

public class ClipModelTests
{
    internal static ClipConfig Small(bool resnet = false, bool quick = false) =>
        resnet
            ? new ClipConfig
            {
                EmbedDim = 16,
                QuickGelu = quick,
                Vision = new VisionConfig
                {
                    ImageSize = 32,
                    Width = 8,
                    ResNetLayers = new[] { 1, 2, 1, 1 },
                    HeadWidth = 32,
                },
                Text = new TextConfig
                {
                    ContextLength = 12,
                    VocabSize = 100,
                    Width = 16,
                    Heads = 2,
                    Layers = 1,
                },
            }
            : new ClipConfig
            {
                EmbedDim = 16,
                QuickGelu = quick,
                Vision = new VisionConfig
                {
                    ImageSize = 16,
                    Width = 32,
                    Layers = 2,
                    PatchSize = 8,
                    HeadWidth = 16,
                },
                Text = new TextConfig
                {
                    ContextLength = 12,
                    VocabSize = 100,
                    Width = 16,
                    Heads = 2,
                    Layers = 2,
                },
            };

    internal static Tensor Tokens(params int[][] rows)
    {
        var t = zeros(rows.Length, 12, dtype: int64);
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < rows[i].Length; j++)
                t[i, j] = rows[i][j];
        return t;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ForwardGivesUnitFeaturesAndTheInitialTemperature(bool resnet)
    {
        using var seeded = new Generator(1);
        using var model = new ClipModel(Small(resnet), seeded);
        model.eval();
        var images = randn(3, 3, model.Config.Vision.ImageSize, model.Config.Vision.ImageSize, generator: seeded);
        var tokens = Tokens(new[] { 98, 5, 99 }, new[] { 98, 7, 8, 99 }, new[] { 98, 99 });
        var output = model.forward(images, tokens);
        Assert.Equal(new long[] { 3, 16 }, output.ImageFeatures.shape);
        Assert.Equal(new long[] { 3, 16 }, output.TextFeatures.shape);
        Assert.True(output.ImageFeatures.norm(1).sub(1).abs().max().item<float>() < 1e-5);
        Assert.Equal(1 / 0.07, output.LogitScale.item<float>(), 3);
    }

    [Fact]
    public void TextFeaturesAreReadAtEndOfTextAndIgnoreLaterPositions()
    {
        using var seeded = new Generator(2);
        using var model = new ClipModel(Small(), seeded);
        model.eval();
        var a = model.EncodeText(Tokens(new[] { 98, 5, 6, 99 }));
        var b = model.EncodeText(Tokens(new[] { 98, 5, 6, 99, 42, 43 })); // causal: tokens after EOT cannot matter
        var c = model.EncodeText(Tokens(new[] { 98, 5, 7, 99 }));
        Assert.True(a.allclose(b, 1e-5, 1e-6));
        Assert.False(a.allclose(c, 1e-3, 1e-3));
    }

    [Fact]
    public void ParameterCountOfViTB32MatchesOpenAis()
    {
        using var _ = no_grad();
        using var model = new ClipModel(ClipConfig.Load("ViT-B-32"));
        Assert.Equal(151_277_313, model.ParameterCount()); // OpenAI ViT-B/32, as open_clip reports it
    }

    [Fact]
    public void BuiltInConfigsLoadByNameAndFromAFile()
    {
        Assert.Contains("RN50", ClipConfig.BuiltInNames);
        Assert.Equal(new[] { 3, 4, 6, 3 }, ClipConfig.Load("RN50").Vision.ResNetLayers);
        using var dir = new TempDir();
        var path = dir.File("custom.json");
        File.WriteAllText(path, Small().ToJson());
        Assert.Equal(Small(), ClipConfig.Load(path) with { Vision = ClipConfig.Load(path).Vision });
        Assert.Equal(32, ClipConfig.Load(path).Vision.Width);
        var e = Assert.Throws<ArgumentException>(() => ClipConfig.Load("ViT-Z-99"));
        Assert.Contains("ViT-Z-99", e.Message);
    }
}
