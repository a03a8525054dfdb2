using System.Text.Json;
using SemiClip.Experiments;
using SemiClip.Synthetic;
using SemiClip.Tests.Support;

namespace SemiClip.Tests.Synthetic;

/// <summary>The demo's regime: its start sees tabletop photos and other aerial scenes of half the aerial classes,
/// never the adaptation images or captions; a recipe's settings reach the adaptation runs.</summary>
public class DemoRegimeTests
{
    static DomainAdaptationExperiment Tiny(TempDir dir) =>
        new(
            new DomainAdaptationExperiment.Settings
            {
                WorkDir = dir.File("demo"),
                AerialTrainPerClass = 3,
                AerialTestPerClass = 1,
                AerialValPerClass = 1,
                GenericTrainPerClass = 2,
                AerialPretrainPerClass = 2,
                ImageSize = 32,
                BatchSize = 8,
                PretrainSteps = 2,
                AdaptSteps = 2,
                Workers = 1,
                Device = "cpu",
            }
        );

    [Fact]
    public void TheStartSeesHalfTheAerialClassesAndNoneOfTheAdaptationImages()
    {
        using var dir = new TempDir();
        var exp = Tiny(dir);
        exp.PrepareData();
        var lines = File.ReadLines(exp.PretrainFile).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var labels = lines.Select(l => l.GetProperty("label").GetString()!).Distinct().Order().ToList();
        string[] expected = [.. TabletopScenes.Classes, "farmland", "river", "residential", "airport", "harbour"];
        Assert.Equal(expected.Order(), labels);
        Assert.Equal(TabletopScenes.Classes.Length * 2 + 5 * 2, lines.Count);

        var dataDir = Path.GetDirectoryName(exp.PretrainFile)!;
        var startImages = lines
            .Select(l => File.ReadAllBytes(Path.Combine(dataDir, l.GetProperty("image").GetString()!)))
            .ToList();
        var adaptation = Directory
            .GetFiles(exp.AerialDir, "*.png", SearchOption.AllDirectories)
            .Select(File.ReadAllBytes)
            .ToList();
        Assert.DoesNotContain(startImages, s => adaptation.Any(a => a.AsSpan().SequenceEqual(s)));
    }

    [Fact]
    public void ARecipesSettingsReachTheAdaptationRun()
    {
        using var dir = new TempDir();
        var exp = Tiny(dir);
        exp.PrepareData();
        var start = exp.Pretrain();
        var outcome = exp.Adapt("locked", "clip", 1.0, overrides: ["lock_image=true", "lr=1e-2"]);
        Assert.Equal(2, outcome.Steps);
        using var before = SemiClip.Model.ClipCheckpoint.Load(start);
        using var after = SemiClip.Model.ClipCheckpoint.Load(
            Path.Combine(exp.Config.WorkDir, "locked", "model.safetensors")
        );
        var (b, a) = (before.state_dict(), after.state_dict());
        Assert.True(b["visual.conv1.weight"].equal(a["visual.conv1.weight"]).all().item<bool>());
        Assert.False(b["token_embedding.weight"].equal(a["token_embedding.weight"]).all().item<bool>());
        Assert.InRange(outcome.Top1Seen, 0, 1);
        Assert.InRange(outcome.Top1New, 0, 1);
    }

    [Fact]
    public void KeepBestChoosesOnTheValImagesAndTheKeptStepIsWhatIsEvaluated()
    {
        using var dir = new TempDir();
        var exp = Tiny(dir);
        exp.PrepareData();
        var val = Directory
            .GetFiles(Path.Combine(exp.AerialDir, "val"), "*.png", SearchOption.AllDirectories)
            .Select(File.ReadAllBytes)
            .ToList();
        var test = Directory
            .GetFiles(Path.Combine(exp.AerialDir, "test"), "*.png", SearchOption.AllDirectories)
            .Select(File.ReadAllBytes)
            .ToList();
        Assert.Equal(10, val.Count);
        Assert.DoesNotContain(val, v => test.Any(t => t.AsSpan().SequenceEqual(v)));
        var outcome = exp.Adapt(
            "kept",
            "clip",
            1.0,
            overrides: [.. exp.ValidationSettings, "eval_every_steps=1", "keep_best=val_loss"]
        );
        var best = SemiClip.Runs.ValidationMetrics.Read(Path.Combine(exp.Config.WorkDir, "kept"))!;
        Assert.Null(outcome.BestStep); // the outcome is the last step's; the kept step's is beside it
        Assert.Equal(best.Step, outcome.Best!.BestStep);
        Assert.Contains(best.Step, new long[] { 1, 2 });
        var report = File.ReadAllText(Path.Combine(exp.Config.WorkDir, "kept", "best", "report.json"));
        Assert.Contains("aerial", report); // the kept weights are the ones the outcome evaluated
    }
}
