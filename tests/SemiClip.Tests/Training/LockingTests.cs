using SemiClip.Data;
using SemiClip.Losses;
using SemiClip.Model;
using SemiClip.Runs;
using SemiClip.Tests.Support;
using SemiClip.Training;
using static TorchSharp.torch;

namespace SemiClip.Tests.Training;

/// <summary>open_clip's locking groups and layer-wise learning-rate decay: what trains, what holds optimiser state,
/// BatchNorm statistics, and the per-group step size against the closed form of Adam's first step.</summary>
public class LockingTests
{
    static ClipConfig ResNet() =>
        SemiClip.Tests.Model.ClipModelTests.Small(resnet: true) with
        {
            Text = new TextConfig
            {
                ContextLength = 24,
                VocabSize = 100,
                Width = 16,
                Heads = 2,
                Layers = 2,
            },
        };

    static ClipModel Model(bool resnet) =>
        new(
            resnet
                ? ResNet()
                : TinySetup.Model(100) with
                {
                    Vision = TinySetup.Model(100).Vision with { Layers = 2 },
                    Text = TinySetup.Model(100).Text with { Layers = 2 },
                }
        );

    static Dictionary<string, Tensor> Snapshot(ClipModel m) =>
        m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

    static (Dictionary<string, Tensor> Before, Trainer Trainer) StepOnce(
        ClipModel model,
        TrainConfig config,
        int imageSize = 16
    )
    {
        var before = Snapshot(model);
        var trainer = new Trainer(
            model,
            new TrainingObjective(config.Loss),
            TrainConfigValidator.ValidateSettings(config),
            CPU,
            10
        );
        var random = TrainerTests.RandomBatch(8, 0, 1);
        using var batch = new SemiClip.Data.TrainBatch
        {
            Position = random.Position,
            Next = random.Next,
            Tokens = random.Tokens,
            Images = imageSize == 16 ? random.Images : randn([8, 3, imageSize, imageSize], generator: new Generator(2)),
        };
        trainer.Step(batch, 0);
        return (before, trainer);
    }

    static bool Changed(ClipModel m, Dictionary<string, Tensor> before, string name) =>
        !m.state_dict()[name].equal(before[name]).all().item<bool>();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EveryTowerParameterIsInExactlyOneGroupInOpenClipsOrder(bool resnet)
    {
        using var model = Model(resnet);
        var image = LayerGroups.Of(model, Tower.Image);
        var text = LayerGroups.Of(model, Tower.Text);
        var all = model.named_parameters().Select(p => p.name).ToList();
        Assert.Equal(
            all.Where(n => n.StartsWith("visual.", StringComparison.Ordinal)).Order(),
            image.SelectMany(g => g).Order()
        );
        Assert.Equal(
            all.Where(n => !n.StartsWith("visual.", StringComparison.Ordinal) && n != "logit_scale").Order(),
            text.SelectMany(g => g).Order()
        );
        Assert.Contains("visual.proj", resnet ? image[^1].Concat(["visual.proj"]) : image[^1]);
        Assert.Contains(resnet ? "visual.conv1.weight" : "visual.class_embedding", image[0]);
        if (resnet)
            Assert.All(image[4], n => Assert.StartsWith("visual.layer4.", n));
        Assert.Equal(["ln_final.bias", "ln_final.weight", "text_projection"], text[^1].Order());
        Assert.Contains("token_embedding.weight", text[0]);
    }

    [Fact]
    public void ALockedImageTowerWithItsTopGroupUnlockedTrainsOnlyThatGroupAndTheText()
    {
        var config = TrainConfig.Load(null) with
        {
            LockImage = true,
            LockImageUnlockedGroups = 1,
            WarmupSteps = 1,
            Lr = 1e-2,
        };
        using var model = Model(resnet: false);
        var (before, trainer) = StepOnce(model, config);
        using var _ = trainer;
        var groups = LayerGroups.Of(model, Tower.Image);
        Assert.All(groups.SkipLast(1).SelectMany(g => g), n =>
            Assert.False(Changed(model, before, n), $"{n} is locked but changed")
        );
        Assert.All(groups[^1], n => Assert.True(Changed(model, before, n), $"{n} is unlocked but did not change"));
        Assert.True(Changed(model, before, "transformer.resblocks.0.attn.in_proj_weight"));
        // Locked parameters hold no optimiser state at all.
        var state = trainer.Optimizer.StateTensors().Select(kv => kv.Key).ToList();
        Assert.DoesNotContain("optim.exp_avg.visual.conv1.weight", state);
        Assert.Contains("optim.exp_avg.visual.proj", state);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FrozenBatchNormKeepsItsStatisticsThroughTraining(bool freeze)
    {
        var config = TrainConfig.Load(null) with { LockImage = true, LockImageFreezeBnStats = freeze, WarmupSteps = 1 };
        using var model = new ClipModel(ResNet());
        var (before, trainer) = StepOnce(model, config, imageSize: 32);
        using var _ = trainer;
        Assert.Equal(!freeze, Changed(model, before, "visual.bn1.running_mean"));
        Assert.False(Changed(model, before, "visual.conv1.weight"));
    }

    [Fact]
    public void ALockedTextTowerKeepsItsLayerNormsFrozenWhenAsked()
    {
        var config = TrainConfig.Load(null) with
        {
            LockText = true,
            LockTextUnlockedLayers = 2,
            LockTextFreezeLayerNorm = true,
            WarmupSteps = 1,
            Lr = 1e-2,
        };
        using var model = Model(resnet: false);
        var (before, trainer) = StepOnce(model, config);
        using var _ = trainer;
        Assert.True(Changed(model, before, "text_projection"));
        Assert.True(Changed(model, before, "transformer.resblocks.1.attn.in_proj_weight")); // the top block: unlocked
        Assert.False(Changed(model, before, "transformer.resblocks.1.ln_1.weight")); // but its LayerNorm stays
        Assert.False(Changed(model, before, "ln_final.weight"));
        Assert.False(Changed(model, before, "transformer.resblocks.0.attn.in_proj_weight"));
        Assert.False(Changed(model, before, "token_embedding.weight"));
    }

    [Fact]
    public void LayerDecayScalesEachGroupsFirstStepByDecayToItsDepth()
    {
        // Adam's first step moves every weight by lr·m̂/(√v̂ + ε) = lr·g/(|g| + ε) ≈ ±lr: the step size is the group's
        // lr.
        const double lr = 1e-3,
            decay = 0.5;
        var config = TrainConfig.Load(null) with
        {
            ImageLayerDecay = decay,
            TextLayerDecay = 0.8,
            WarmupSteps = 0,
            Lr = lr,
            WeightDecay = 0,
        };
        using var model = Model(resnet: false);
        var (before, trainer) = StepOnce(model, config);
        using var _ = trainer;
        double Moved(string name)
        {
            using var delta = (model.state_dict()[name] - before[name]).abs();
            using var moved = delta.masked_select(delta.gt(lr * 1e-3)); // entries with a gradient worth the name
            return moved.numel() == 0 ? 0 : moved.median().item<float>();
        }
        var groups = LayerGroups.Of(model, Tower.Image);
        for (int g = 0; g < groups.Count; g++)
        {
            double expected = lr * Math.Pow(decay, groups.Count - 1 - g);
            foreach (var name in groups[g].Where(n => n != "visual.class_embedding"))
                Assert.True(
                    Math.Abs(Moved(name) - expected) < 0.02 * expected,
                    $"{name}: moved {Moved(name)}, expected {expected}"
                );
        }
        Assert.Equal(lr * 0.8 * 0.8, Moved("transformer.resblocks.0.mlp.c_fc.weight"), 1e-5);
        Assert.Equal(lr, Moved("text_projection"), 1e-5);
        Assert.Contains(trainer.Optimizer.StateTensors(), kv => kv.Key == "optim.lr_scale.visual.conv1.weight");
    }

    [Fact]
    public void LockingAndDecaySettingsAreCheckedAndARunResumesExactlyWithThem()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var e = Assert.Throws<SettingsException>(() =>
            TrainConfigValidator.Validate(
                TrainConfig.Load(null, common.Concat(["lock_image_unlocked_groups=2", "image_layer_decay=1.5"]))
            )
        );
        Assert.Contains(
            "lock_image_unlocked_groups and lock_image_freeze_bn_stats apply only with lock_image: true",
            e.Message
        );
        Assert.Contains("image_layer_decay: must be in (0, 1]", e.Message);

        var settings = common
            .Concat([
                "lock_image=true",
                "lock_image_unlocked_groups=1",
                "text_layer_decay=0.7",
                "steps=6",
                "checkpoint_every=3",
                TinySetup.SavedStart(dir),
            ])
            .ToList();
        void Train(string run, bool resume, long? stopAfter)
        {
            var config = TrainConfig.Load(null, settings.Append($"run_name=\"{run}\""));
            using var session = new TrainingSession(config, resume);
            if (stopAfter is long n)
                session.Trainer.BeforeStep = step =>
                {
                    if (step == n)
                        throw new OperationCanceledException();
                };
            try
            {
                session.Train();
            }
            catch (OperationCanceledException) { }
        }
        Train("whole", false, null);
        Train("cut", false, 4);
        Train("cut", true, null);
        using var a = ClipCheckpoint.Load(dir.File("runs/whole/model.safetensors"));
        using var b = ClipCheckpoint.Load(dir.File("runs/cut/model.safetensors"));
        foreach (var (name, t) in a.state_dict())
            Assert.True(t.equal(b.state_dict()[name]).all().item<bool>(), $"{name} differs after resume");
    }
}

/// <summary>Defects found in review (issue "One place for each idea"), each with the test that failed before its
/// fix.</summary>
public class ReviewDefectTests
{
    [Fact]
    public void ThePseudoLabelerKeepsThePlansGradientByDefaultAsTheConfigurationAndTheReferenceDo()
    {
        var unpaired = nn.functional.normalize(randn([4, 8], generator: new Generator(1)), dim: -1).requires_grad_();
        var paired = nn.functional.normalize(randn([5, 8], generator: new Generator(2)), dim: -1);
        var plan = PseudoLabeler.Assign(unpaired, paired, tensor(10f), PseudoLabelKind.OptimalTransport, 10);
        Assert.True(plan.requires_grad);
        Assert.False(new LossConfig().DetachPlan);
    }

    [Fact]
    public void CheckpointEveryZeroWritesOnlyTheFinalWeights()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        using (
            var session = new TrainingSession(
                TrainConfig.Load(null, common.Concat(["run_name=\"zero\"", "steps=3", "checkpoint_every=0"])),
                false
            )
        )
            session.Train();
        Assert.True(File.Exists(dir.File("runs/zero/model.safetensors")));
        Assert.Empty(TrainCheckpoint.List(dir.File("runs/zero/checkpoints")));
    }
}
