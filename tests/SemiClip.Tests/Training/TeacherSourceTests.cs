using SemiClip.Data;
using SemiClip.Losses;
using SemiClip.Model;
using SemiClip.Runs;
using SemiClip.Tests.Support;
using SemiClip.Tokenization;
using SemiClip.Training;
using static TorchSharp.torch;

namespace SemiClip.Tests.Training;

/// <summary>SoftCLIP's teacher source: intra-modal similarities from a frozen copy of the starting model.</summary>
public class TeacherSourceTests
{
    static List<string> WithPretrained(TempDir dir)
    {
        var common = TinySetup.Write(dir);
        return [.. common, TinySetup.SavedStart(dir)];
    }

    [Fact]
    public void TheSourceDefaultsToTheTeacherOnlyWhenARunStartsFromWeights()
    {
        var softclip = new LossConfig { Method = TrainingMethod.SoftClip };
        Assert.Equal(IntraModalSource.Teacher, softclip.ResolveIntraSource(startsFromWeights: true).IntraSource);
        Assert.Equal(IntraModalSource.Pooled, softclip.ResolveIntraSource(startsFromWeights: false).IntraSource);
        var e = Assert.Throws<ArgumentException>(() =>
            (softclip with { IntraSource = IntraModalSource.Teacher }).ResolveIntraSource(false)
        );
        Assert.Contains("intra_source", e.Message);
        Assert.Equal(
            IntraModalSource.Tokens,
            (softclip with { IntraSource = IntraModalSource.Tokens }).ResolveIntraSource(true).IntraSource
        );
    }

    [Fact]
    public void AFromScratchRunAskingForATeacherIsRefused()
    {
        using var dir = new TempDir();
        var config = TrainConfig.Load(
            null,
            TinySetup
                .Write(dir)
                .Concat(["method=\"softclip\"", "loss.intra_source=\"teacher\"", "steps=2", "run_name=\"t\""])
        );
        var e = Assert.Throws<SettingsException>(() => new TrainingSession(config, resume: false));
        Assert.Contains("intra_source: teacher", e.Message);
    }

    [Fact]
    public void AtStepZeroWithAlphaAndLambdaZeroTheTeacherLossEqualsClips()
    {
        using var dir = new TempDir();
        var common = WithPretrained(dir);
        Dictionary<string, double> Parts(string method, string run, params string[] extra)
        {
            var config = TrainConfig.Load(
                null,
                common.Concat([$"method=\"{method}\"", "steps=1", $"run_name=\"{run}\"", "workers=1", .. extra])
            );
            using var session = new TrainingSession(config, resume: false);
            using var batch = session.Loader.Batches(new SemiClip.Data.LoaderPosition(0, 0), 1).First();
            return session.Trainer.ComputeGradients(batch, 0);
        }
        var clip = Parts("clip", "clip");
        var soft = Parts("softclip", "soft", "loss.soft_alpha=0", "loss.negatives_weight=0");
        Assert.Equal(clip["contrastive"], soft["soft"], 5);
    }

    [Fact]
    public void ARunFromWeightsRecordsTheTeacherSourceInItsConfig()
    {
        using var dir = new TempDir();
        var config = TrainConfig.Load(
            null,
            WithPretrained(dir).Concat(["method=\"softclip\"", "steps=2", "run_name=\"teach\""])
        );
        using var session = new TrainingSession(config, resume: false);
        Assert.Equal(IntraModalSource.Teacher, session.Config.Loss.IntraSource);
        session.Train();
        Assert.Contains(
            "\"intra_source\": \"teacher\"",
            File.ReadAllText(Path.Combine(session.Run.Root, "config.json"))
        );
    }

    [Fact]
    public void TheTeacherNeverChangesWhileTheStudentLearns()
    {
        var config = TrainConfigValidator.ValidateSettings(
            TrainConfig.Load(null) with
            {
                Method = TrainingMethod.SoftClip,
                WarmupSteps = 1,
                Lr = 1e-2,
            },
            startsFromWeights: true
        );
        Assert.Equal(IntraModalSource.Teacher, config.Values.Loss.IntraSource);
        using var seeded = new Generator(12);
        using var student = new ClipModel(TinySetup.Model(100), seeded);
        using var teacher = new ClipModel(TinySetup.Model(100), seeded);
        teacher.load_state_dict(student.state_dict());
        var before = teacher.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var trainer = new Trainer(
            student,
            new TrainingObjective(config.Values.Loss),
            config,
            CPU,
            4,
            null,
            teacher
        );
        for (int step = 0; step < 4; step++)
            trainer.Step(TrainerTests.RandomBatch(8, 0, step), step);
        Assert.All(teacher.state_dict(), kv =>
            Assert.True(kv.Value.equal(before[kv.Key]).all().item<bool>(), $"teacher {kv.Key} changed")
        );
        Assert.Contains(student.state_dict(), kv => !kv.Value.equal(before[kv.Key]).all().item<bool>());
    }
}
