using SemiClip.IO;
using SemiClip.Model;
using SemiClip.Tests.Support;
using static TorchSharp.torch;

namespace SemiClip.Tests.Model;

/// <summary>A start whose file does not say its activation (open_clip's GELU checkpoints converted to safetensors) is
/// never loaded with a silent guess: the guess is reported, the files beside it are read, and the setting
/// overrides.</summary>
public class ActivationTests
{
    static (Tensor Img, Tensor Txt) Features(ClipModel m)
    {
        m.eval();
        using var _ = no_grad();
        var g = new TorchSharp.torch.Generator(11);
        var images = randn([2, 3, m.Config.Vision.ImageSize, m.Config.Vision.ImageSize], generator: g);
        return (m.EncodeImage(images), m.EncodeText(ClipModelTests.Tokens([98, 3, 4, 99], [98, 5, 99])));
    }

    /// <summary>64-wide heads, as in every published CLIP, so the architecture can be read off the shapes
    /// alone.</summary>
    static ClipConfig Published(int vocab = 100, int context = 12) =>
        new()
        {
            EmbedDim = 16,
            Vision = new VisionConfig
            {
                ImageSize = 16,
                Width = 64,
                Layers = 1,
                PatchSize = 8,
                HeadWidth = 64,
            },
            Text = new TextConfig
            {
                ContextLength = context,
                VocabSize = vocab,
                Width = 64,
                Heads = 1,
                Layers = 1,
            },
        };

    /// <summary>A GELU model's weights alone, as a converter that knows nothing of SemiClip writes them.</summary>
    static (ClipModel Original, string Path) BareGeluWeights(TempDir dir)
    {
        var original = new ClipModel(Published());
        var path = dir.File("open_clip_model.safetensors");
        SafeTensorsWriter.Write(path, original.state_dict(), new Dictionary<string, string> { ["format"] = "pt" });
        return (original, path);
    }

    static double MaxDifference(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [Fact]
    public void AnUnrecordedActivationIsReportedAndTheSettingGivesTheRightFeatures()
    {
        using var dir = new TempDir();
        var (original, path) = BareGeluWeights(dir);
        using var _o = original;
        var expected = Features(original);

        using (var guessed = ClipCheckpoint.Load(path, out var origin))
        {
            Assert.True(origin.Assumed);
            Assert.Equal("quick_gelu", origin.Activation);
            Assert.Contains("set activation: gelu", origin.Describe(path));
            // The guess is wrong for this model, and visibly so in its features.
            Assert.True(MaxDifference(expected.Img, Features(guessed).Img) > 1e-3);
        }
        using (var chosen = ClipCheckpoint.Load(path, out var origin, activation: "gelu"))
        {
            Assert.False(origin.Assumed);
            Assert.Equal("gelu", origin.Activation);
            var actual = Features(chosen);
            Assert.True(MaxDifference(expected.Img, actual.Img) < 1e-6);
            Assert.True(MaxDifference(expected.Txt, actual.Txt) < 1e-6);
        }
    }

    [Fact]
    public void AutoReadsOpenClipsConfigBesideTheWeights()
    {
        using var dir = new TempDir();
        var (original, path) = BareGeluWeights(dir);
        using var _o = original;
        File.WriteAllText(
            dir.File("open_clip_config.json"),
            "{\"model_cfg\": {\"embed_dim\": 16}, \"preprocess_cfg\": {}}"
        );
        using var loaded = ClipCheckpoint.Load(path, out var origin);
        Assert.False(origin.Assumed);
        Assert.Equal("gelu", origin.Activation);
        Assert.Contains("open_clip_config.json", origin.Source);
        Assert.True(MaxDifference(Features(original).Img, Features(loaded).Img) < 1e-6);
    }

    [Fact]
    public void ASettingThatContradictsSemiClipsOwnRecordIsRefused()
    {
        using var dir = new TempDir();
        using var model = new ClipModel(ClipModelTests.Small(quick: true));
        ClipCheckpoint.Save(model, dir.File("m.safetensors"));
        var e = Assert.Throws<WeightMismatchException>(() =>
            ClipCheckpoint.Load(dir.File("m.safetensors"), activation: "gelu")
        );
        Assert.Contains("trained these weights with quick_gelu", e.Message);
    }

    [Fact]
    public void TheCliSaysWhatItAssumedAndTheRunRecordsIt()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir).Where(o => !o.StartsWith("model=", StringComparison.Ordinal)).ToList();
        using (
            var start = new ClipModel(
                Published(SemiClip.Tokenization.ClipTokenizer.FromMergesFile(dir.File("merges.txt")).VocabSize, 24)
            )
        )
            SafeTensorsWriter.Write(
                dir.File("start.safetensors"),
                start.state_dict(),
                new Dictionary<string, string> { ["format"] = "pt" }
            );

        var (code, output) = CliProcess.Run("info", dir.File("start.safetensors"));
        Assert.True(code == 0, output);
        Assert.Contains("quick_gelu (assumed", output);

        string[] Train(string run, params string[] extra) =>
            new[] { "train", "--run-name", run, "--pretrained", dir.File("start.safetensors") }
                .Concat(common.Concat(extra.Append("steps=1")).SelectMany(o => new[] { "--set", o }))
                .ToArray();
        (code, output) = CliProcess.Run(Train("guessed"));
        Assert.True(code == 0, output);
        Assert.Contains("assumed quick_gelu", output);
        Assert.Contains("\"assumed\":true", File.ReadAllText(dir.File("runs/guessed/metrics.jsonl")));

        (code, output) = CliProcess.Run(Train("told", "activation=\"gelu\""));
        Assert.True(code == 0, output);
        Assert.DoesNotContain("assumed", output);
        Assert.Contains("\"quick_gelu\": false", File.ReadAllText(dir.File("runs/told/model_config.json")));
    }
}
