using SemiClip.Data;
using SemiClip.Losses;
using SemiClip.Model;
using SemiClip.Runs;
using SemiClip.Tests.Support;
using SemiClip.Training;
using static TorchSharp.torch;

namespace SemiClip.Tests.Training;

/// <summary>The settings that make SemiClip's S-CLIP run the alinlab/s-clip protocol.</summary>
public class ReferenceProtocolTests
{
    [Fact]
    public void SplitCompositionHalvesTheBatchForMethodsWithUnpairedImagesOnly()
    {
        var split = new TrainConfig { BatchSize = 64 };
        Assert.Equal((32, 32), split.StepComposition(usesUnpaired: true));
        Assert.Equal((64, (int?)null), split.StepComposition(usesUnpaired: false));
        Assert.Equal((7, 8), (split with { BatchSize = 15 }).StepComposition(true));
        var add = new TrainConfig
        {
            BatchSize = 64,
            BatchComposition = BatchComposition.Add,
            UnpairedBatchSize = 16,
        };
        Assert.Equal((64, 16), add.StepComposition(true));
        var e = Assert.Throws<SettingsException>(() => TrainConfig.Load(null, ["batch_composition=half"]));
        Assert.Contains("config field batch_composition: \"half\" is not one of split, add", e.Message);
        Assert.Equal(BatchComposition.Split, new TrainConfig().BatchComposition);
    }

    [Fact]
    public void AdamMomentsFollowOpenClipByImageTowerUnlessSet()
    {
        var config = new TrainConfig();
        Assert.Equal((0.98, 1e-6), config.AdamMoments(resnetTower: false));
        Assert.Equal((0.999, 1e-8), config.AdamMoments(resnetTower: true));
        Assert.Equal((0.95, 1e-5), (config with { Beta2 = 0.95, Eps = 1e-5 }).AdamMoments(resnetTower: true));
    }

    [Fact]
    public void NoGradientClippingUnlessAsked() => Assert.Equal(0, new TrainConfig().GradClipNorm);

    [Fact]
    public void KeywordMatchReferenceIsTheExactSpacePaddedTest()
    {
        var reference = new KeywordLabeler(["river", "dense residential"], KeywordMatch.Reference);
        var words = new KeywordLabeler(["river", "dense residential"], KeywordMatch.Words);
        Assert.Equal(new[] { 1f, 0f }, reference.Label("a river runs through"));
        Assert.Equal(new[] { 0f, 0f }, reference.Label("beside a river.")); // the reference misses "river."
        Assert.Equal(new[] { 0f, 0f }, reference.Label("A River runs")); // and is case-sensitive
        Assert.Equal(new[] { 1f, 0f }, words.Label("beside a river."));
        Assert.Equal(new[] { 1f, 0f }, words.Label("A River runs"));
        Assert.Equal(new[] { 0f, 1f }, reference.Label("many dense residential buildings"));
        Assert.Equal(KeywordMatch.Words, TrainConfig.Load(null, ["keyword_match=words"]).KeywordMatch);
        var e = Assert.Throws<SettingsException>(() =>
            TrainConfig.Load(null, ["keyword_match=fuzzy", "precision=fp64"])
        );
        Assert.Contains("keyword_match: \"fuzzy\" is not one of reference, words", e.Message);
        Assert.Contains("precision: \"fp64\" is not one of fp32, bf16", e.Message);
        Assert.Equal(SemiClip.Data.KeywordMatch.Reference, new TrainConfig().KeywordMatch);
    }

    [Fact]
    public void ThePlanKeepsItsGradientUnlessDetached()
    {
        using var seeded = new Generator(3);
        var unpaired = nn.functional.normalize(randn(5, 8, generator: seeded), dim: -1).requires_grad_(true);
        var paired = nn.functional.normalize(randn(4, 8, generator: seeded), dim: -1).requires_grad_(true);
        var scale = tensor(20f);
        var live = PseudoLabeler.Assign(unpaired, paired, scale, PseudoLabelKind.OptimalTransport, 10, detach: false);
        var fixedPlan = PseudoLabeler.Assign(
            unpaired,
            paired,
            scale,
            PseudoLabelKind.OptimalTransport,
            10,
            detach: true
        );
        Assert.True(live.requires_grad);
        Assert.False(fixedPlan.requires_grad);
        Assert.True(live.allclose(fixedPlan, 1e-6, 1e-7));
        // The gradient of Σ plan·w reaches the unpaired features only through the live plan.
        (live * randn(5, 4, generator: seeded)).sum().backward();
        Assert.NotNull(unpaired.grad);
        Assert.True(unpaired.grad!.abs().sum().item<float>() > 0);
        Assert.False(new LossConfig().DetachPlan);
        // Called without saying, the labeler keeps the gradient as the config (and the reference) do by default.
        Assert.True(PseudoLabeler.Assign(unpaired, paired, scale, PseudoLabelKind.OptimalTransport, 10).requires_grad);
    }

    [Fact]
    public void SplitSeedFixesThePairedSubsetWhileSeedVaries()
    {
        var samples = Enumerable.Range(0, 50).Select(i => new CaptionSample($"/img/{i}.png", ["c"], $"f:{i}")).ToList();
        var a = PairedUnpairedSplit.Create(
            samples,
            0.2,
            new TrainConfig { Seed = 1, SplitSeed = 7 }.EffectiveSplitSeed
        );
        var b = PairedUnpairedSplit.Create(
            samples,
            0.2,
            new TrainConfig { Seed = 2, SplitSeed = 7 }.EffectiveSplitSeed
        );
        var c = PairedUnpairedSplit.Create(samples, 0.2, new TrainConfig { Seed = 2 }.EffectiveSplitSeed);
        Assert.Equal(a.Paired.Select(s => s.ImagePath), b.Paired.Select(s => s.ImagePath));
        Assert.NotEqual(a.Paired.Select(s => s.ImagePath), c.Paired.Select(s => s.ImagePath));
    }

    [Fact]
    public void ASessionWithSClipSplitsEachBatchIntoPairedAndUnpairedHalves()
    {
        using var dir = new TempDir();
        var config = TrainConfig.Load(
            null,
            TinySetup.Write(dir).Concat(["method=\"sclip\"", "label_ratio=0.5", "steps=1", "run_name=\"split\""])
        );
        using var session = new TrainingSession(config, resume: false);
        Assert.Equal(4, session.Loader.Options.BatchSize);
        Assert.Equal(4, session.Loader.UnpairedPerStep);
        var host = ((TrainingDataLoader)session.Loader).BuildHost(0);
        Assert.NotNull(host.Labels); // the synthetic data records labels, so diagnostics are on
        Assert.All(host.Labels.Unpaired!, c => Assert.True(c >= 0));
    }

    [Fact]
    public void ThePaperRecipeConfigLoads()
    {
        var config = TrainConfig.Load(Path.Combine(SharedFiles.RepoRoot, "configs", "sclip-paper-rs.yaml"));
        Assert.Equal("RN50", config.Model);
        Assert.Equal(256, config.BatchSize);
        Assert.Equal(BatchComposition.Split, config.BatchComposition);
        Assert.Equal(5e-5, config.Lr);
        Assert.Equal(10, config.WarmupSteps);
        Assert.Equal(25, config.Epochs);
        Assert.Equal(0.2, config.WeightDecay);
        Assert.Equal((0.999, 1e-8), config.AdamMoments(ClipConfig.Load(config.Model).Vision.IsResNet));
        Assert.Equal(SemiClip.Data.KeywordMatch.Reference, config.KeywordMatch);
    }
}
