using SemiClip.Model;
using SemiClip.Tests.Support;
using static TorchSharp.torch;

namespace SemiClip.Tests.Model;

/// <summary>A pretrained start at another resolution or context length: positions resized, everything else
/// kept.</summary>
public class ModelResizeTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheImageGridIsInterpolatedAndTheClassPositionAndOtherWeightsKept(bool resnet)
    {
        var model = new ClipModel(ClipModelTests.Small(resnet));
        string grid = resnet ? "visual.attnpool.positional_embedding" : "visual.positional_embedding";
        int size = model.Config.Vision.ImageSize;
        using (no_grad())
        {
            // A grid constant per channel stays so under bicubic interpolation, whatever the size: a check by hand.
            var positions = model.state_dict()[grid];
            var perChannel = arange(positions.shape[1], dtype: float32);
            positions
                .narrow(0, 1, positions.shape[0] - 1)
                .copy_(perChannel.unsqueeze(0).expand(positions.shape[0] - 1, -1));
            positions[0].fill_(-7);
        }
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var resized = ModelResize.To(model, imageSize: size * 2, contextLength: null);
        Assert.Equal(size * 2, resized.Config.Vision.ImageSize);
        var after = resized.state_dict();
        long cells = resnet ? (size * 2 / 32) * (size * 2 / 32) : (size * 2 / 8) * (size * 2 / 8);
        Assert.Equal([cells + 1, before[grid].shape[1]], after[grid].shape);
        Assert.True(after[grid][0].eq(-7).all().item<bool>());
        var expected = arange(before[grid].shape[1], dtype: float32).unsqueeze(0).expand(cells, -1);
        Assert.True(after[grid].narrow(0, 1, cells).allclose(expected, 1e-4, 1e-4));
        foreach (var (name, t) in before.Where(kv => kv.Key != grid))
            Assert.True(t.equal(after[name]).all().item<bool>(), $"{name} changed");
        using var _ = no_grad();
        Assert.Equal([2L, resized.Config.EmbedDim], resized.EncodeImage(randn(2, 3, size * 2, size * 2)).shape);
    }

    [Fact]
    public void TextPositionsAreInterpolatedLinearlyToTheNewContext()
    {
        var model = new ClipModel(ClipModelTests.Small());
        using (no_grad())
            model.state_dict()["positional_embedding"].copy_(arange(12, dtype: float32).unsqueeze(1).expand(12, 16));
        using var resized = ModelResize.To(model, imageSize: null, contextLength: 6);
        var positions = resized.state_dict()["positional_embedding"];
        Assert.Equal([6L, 16L], positions.shape);
        // Linear, align_corners false, 12 → 6: output i samples input position 2i + 0.5, the mean of rows 2i and 2i +
        // 1.
        for (int i = 0; i < 6; i++)
            Assert.Equal(2 * i + 0.5, positions[i, 0].item<float>(), 4);
    }

    [Fact]
    public void ARunAtAnotherResolutionRecordsItAndEvaluatesAtIt()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var (code, output) = CliProcess.Run([
            "train",
            "--run-name",
            "big",
            .. common.SelectMany(o => new[] { "--set", o }),
            "--set",
            "steps=1",
            "--set",
            "image_size=32",
            "--set",
            "context_length=16",
            "--pretrained",
            TinySetup.SavedStart(dir)[12..^1],
        ]);
        Assert.True(code == 0, output);
        using var bundle = ModelBundle.Load(dir.File("runs/big"));
        Assert.Equal(32, bundle.Model.Config.Vision.ImageSize);
        Assert.Equal(16, bundle.Model.Config.Text.ContextLength);
        (code, output) = CliProcess.Run(
            "eval",
            "--model",
            dir.File("runs/big"),
            "--classification",
            dir.File("data/test")
        );
        Assert.True(code == 0, output);

        (code, output) = CliProcess.Run([
            "train",
            "--run-name",
            "odd",
            .. common.SelectMany(o => new[] { "--set", o }),
            "--set",
            "image_size=20",
        ]);
        Assert.NotEqual(0, code);
        Assert.Contains("not a multiple of patch_size 8", output);
    }
}
