using SemiClip.Model.Pretrained;
using SemiClip.Model;
using SemiClip.Runs;
using SemiClip.Tensors;
using SemiClip.Tests.Support;
using SemiClip.Tokenization;
using SemiClip.Training;
using static TorchSharp.torch;

namespace SemiClip.Tests.Training;

/// <summary>A fully locked tower runs once per input (an image not augmented, a caption, a keyword): its features are
/// kept and reused, and the run trains as an uncached run does: within rounding, since LibTorch rounds a row according
/// to where it sits in a batch and how large the batch is, and a kept row was computed in another batch.</summary>
public class LockedFeatureCacheTests
{
    static readonly string[] Locked =
    [
        "aug_scale=[1, 1]",
        "aug_ratio=[1, 1]",
        // 40 images, 6 per step: 6 steps an epoch leave 4 images out, drawn in later epochs beside kept ones.
        "batch_size=6",
        "steps=20",
        "checkpoint_every=1000",
    ];

    /// <summary>The final weights of a run, and how many images' and texts' features its trainer kept.</summary>
    static (string Weights, int Images, int Texts) Run(
        TempDir dir,
        List<string> common,
        string name,
        params string[] extra
    )
    {
        var config = TrainConfig.Load(null, [.. common, .. Locked, .. extra, $"run_name=\"{name}\""]);
        using var session = new TrainingSession(config, resume: false);
        session.Train();
        var (images, texts) = session.Trainer.LockedFeaturesKept;
        return (dir.File($"runs/{name}/model.safetensors"), images, texts);
    }

    /// <summary>Asserts two runs trained the same: every step's loss, and the final models' embeddings of a fixed
    /// batch, within rounding. Not the weights bit for bit: a kept row and a recomputed one may differ in the last
    /// place, and AdamW turns such noise in a gradient that is zero in exact arithmetic (the attention's key bias,
    /// which softmax ignores) into full-size steps of a parameter that changes nothing.</summary>
    static void TrainedAlike(string expected, string actual)
    {
        static List<double> Losses(string weights) =>
            File.ReadLines(Path.Combine(Path.GetDirectoryName(weights)!, "metrics.jsonl"))
                .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
                .Where(e => e.GetProperty("kind").GetString() == "train")
                .Select(e => e.GetProperty("loss").GetDouble())
                .ToList();
        var (la, lb) = (Losses(expected), Losses(actual));
        Assert.Equal(20, la.Count);
        for (int step = 0; step < la.Count; step++)
            Assert.True(
                Math.Abs(la[step] - lb[step]) <= 1e-4 * Math.Abs(la[step]),
                $"step {step + 1}: {la[step]} {lb[step]}"
            );
        using var a = ClipCheckpoint.Load(expected);
        using var b = ClipCheckpoint.Load(actual);
        a.eval();
        b.eval();
        using var _ = no_grad();
        int size = a.Config.Vision.ImageSize;
        using var images = rand([4, 3, size, size], generator: new Generator(9));
        int vocab = a.Config.Text.VocabSize;
        using var tokens = randint(1, vocab - 2, [4, a.Config.Text.ContextLength], generator: new Generator(9));
        tokens[.., 5] = vocab - 1;
        tokens[.., 6..] = 0;
        var pairs = new[]
        {
            (a.EncodeImage(images), b.EncodeImage(images)),
            (a.EncodeText(tokens), b.EncodeText(tokens)),
        };
        foreach (var (x, y) in pairs)
            Assert.True(
                x.allclose(y, 1e-4, 1e-6),
                $"embeddings differ by {x.PlusScaled(y, -1).abs().max().item<float>()}"
            );
    }

    [Theory]
    [InlineData("clip", "lock_image=true")]
    [InlineData("sclip", "lock_image=true")] // unpaired images through the cache too
    [InlineData("clip", "lock_image=true", "accum_steps=2")] // micro-batches: each takes its own rows' keys
    [InlineData("clip", "lock_text=true")]
    [InlineData("sclip", "lock_text=true", "accum_steps=2")] // captions and keywords
    [InlineData("clip", "lock_image=true", "lock_text=true")]
    public void CachedEqualsUncached(string method, params string[] extra)
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        common.Add(TinySetup.SavedStart(dir));
        common.Add($"method=\"{method}\"");
        if (method == "sclip")
            common.Add("label_ratio=0.5");
        var cached = Run(dir, common, "cached", extra);
        var uncached = Run(dir, common, "uncached", [.. extra, "cache_locked_features=false"]);
        // Every image the run drew, paired and unpaired, once; every caption drawn (and keyword) once.
        Assert.Equal(extra.Contains("lock_image=true") ? 40 : 0, cached.Images);
        Assert.Equal(extra.Contains("lock_text=true"), cached.Texts > 40);
        Assert.Equal((0, 0), (uncached.Images, uncached.Texts));
        TrainedAlike(uncached.Weights, cached.Weights);
    }

    [Fact]
    public void AugmentedImagesAreNotKept()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        common.Add(TinySetup.SavedStart(dir));
        Assert.Equal(0, Run(dir, common, "cropped", "lock_image=true", "aug_scale=[0.9, 1]").Images);
        Assert.Equal(0, Run(dir, common, "flipped", "lock_image=true", "horizontal_flip=true").Images);
        Assert.Equal(0, Run(dir, common, "top-open", "lock_image=true", "lock_image_unlocked_groups=1").Images);
    }

    [Fact]
    public void AWebPretrainedTrunkIsKeptBeforeItsProjectionWhichStillLearns()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        int vocab = ClipTokenizer.FromMergesFile(dir.File("merges.txt")).VocabSize;
        var small = TinySetup.Model(vocab) with
        {
            Vision = TinySetup.Model(vocab).Vision with
            {
                ImageNet = new ImageNetResNetVision
                {
                    Trunk = new ImageResNetConfig { Layers = [1, 1, 1, 1], Width = 4 },
                },
            },
        };
        File.WriteAllText(dir.File("resnet.json"), small.ToJson());
        using (var fresh = new ClipModel(small))
            ClipCheckpoint.Save(fresh, dir.File("resnet.safetensors"));
        common.AddRange(
            [
                $"model=\"{dir.File("resnet.json")}\"",
                $"pretrained=\"{dir.File("resnet.safetensors")}\"",
                "lock_image=true",
            ]
        );

        // Batch norms that still learn their statistics make features depend on the batch: nothing is kept.
        Assert.Equal(0, Run(dir, common, "moving-norms").Images);

        common.Add("lock_image_freeze_bn_stats=true");
        var cached = Run(dir, common, "cached");
        var uncached = Run(dir, common, "uncached", "cache_locked_features=false");
        Assert.Equal(40, cached.Images);
        TrainedAlike(uncached.Weights, cached.Weights);

        // The projection learned (its weights differ from the start's), the trunk did not.
        using var start = ClipCheckpoint.Load(dir.File("resnet.safetensors"));
        using var trained = ClipCheckpoint.Load(dir.File("runs/cached/model.safetensors"));
        var before = start.state_dict();
        var after = trained.state_dict();
        Assert.False(before["visual.proj.weight"].equal(after["visual.proj.weight"]).all().item<bool>());
        Assert.True(before["visual.trunk.conv1.weight"].equal(after["visual.trunk.conv1.weight"]).all().item<bool>());
    }

    [Fact]
    public void HeadOfTheLockedPartIsTheBertTowerToTheBit()
    {
        var config = new BertConfig
        {
            VocabSize = 50,
            HiddenSize = 16,
            NumHiddenLayers = 1,
            NumAttentionHeads = 2,
            IntermediateSize = 32,
            MaxPositionEmbeddings = 12,
        };
        using var tower = new HfTextTower(config, 8, new Generator(3));
        using var ids = tensor(new long[] { 2, 7, 9, 3, 0, 0, 2, 11, 12, 13, 14, 3 }, [2, 6]);
        using var whole = tower.forward(ids);
        using var locked = tower.LockedPart(ids);
        using var parts = tower.Head(locked);
        Assert.True(whole.equal(parts).all().item<bool>());
        Assert.Equal([2L, 16], locked.shape);
    }

    [Fact]
    public void HeadOfTheLockedPartIsTheTowerToTheBit()
    {
        var config = new ImageNetResNetVision { Trunk = new ImageResNetConfig { Layers = [1, 1, 1, 1], Width = 4 } };
        using var tower = new ImageNetVisionTower(config, 32, 8, new Generator(3));
        tower.eval();
        using var images = rand([3, 3, 32, 32], generator: new Generator(4));
        using var whole = tower.forward(images);
        using var locked = tower.LockedPart(images);
        using var parts = tower.Head(locked);
        Assert.True(whole.equal(parts).all().item<bool>());
        Assert.Equal([3L, config.Trunk.FeatureWidth], locked.shape);
    }
}
