using SemiClip.Data;
using SemiClip.Losses;
using SemiClip.Tests.Support;
using SemiClip.Training;

namespace SemiClip.Tests.Training;

public class TrainConfigTests
{
    [Fact]
    public void YamlJsonAndOverridesResolveTheSameWay()
    {
        using var dir = new TempDir();
        File.WriteAllText(
            dir.File("c.yaml"),
            "method: sclip\nbatch_size: 48\nlr: 0.001\nloss:\n  caption_weight: 0.5\n  pseudo_label: hard_nearest\n"
        );
        File.WriteAllText(
            dir.File("c.json"),
            "{\"method\": \"sclip\", \"batch_size\": 48, \"lr\": 0.001, \"loss\": {\"caption_weight\": 0.5, "
                + "\"pseudo_label\": \"hard_nearest\"}}"
        );
        var y = TrainConfig.Load(dir.File("c.yaml"));
        var j = TrainConfig.Load(dir.File("c.json"));
        Assert.Equal(j.ToJson(), y.ToJson());
        Assert.Equal(48, y.BatchSize);
        Assert.Equal(PseudoLabelKind.HardNearest, y.Loss.PseudoLabel);
        var o = TrainConfig.Load(dir.File("c.yaml"), new[] { "batch_size=16", "loss.caption_weight=2", "run_name=x" });
        Assert.Equal(16, o.BatchSize);
        Assert.Equal(2.0, o.Loss.CaptionWeight);
        Assert.Equal("x", o.RunName);
        Assert.Equal(TrainingMethod.SClip, o.Loss.Method);
    }

    /// <summary>The method is one field: a config a program builds and never validates, loss section replaced or
    /// not, hands its objective the method it names (it once handed S-CLIP's settings over as CLIP).</summary>
    [Fact]
    public void TheLossSectionAlwaysCarriesTheConfigsMethod()
    {
        var built = TrainConfig.Load(null) with { Method = TrainingMethod.SClip };
        Assert.Equal(TrainingMethod.SClip, built.Loss.Method);
        var replaced = built with { Loss = new LossConfig { CaptionWeight = 0.25 } };
        Assert.Equal((TrainingMethod.SClip, 0.25), (replaced.Loss.Method, replaced.Loss.CaptionWeight));
        Assert.True(new TrainingObjective(replaced.Loss).Config.UsesUnpaired);
        var changedBack = replaced with { Method = TrainingMethod.SoftClip };
        Assert.Equal(TrainingMethod.SoftClip, changedBack.Loss.Method);
    }

    /// <summary>Only the validator makes the config a trainer takes: a config nobody checked cannot reach training.
    /// The settings-only check refuses bad settings as the full one does but leaves files to the caller.</summary>
    [Fact]
    public void OnlyACheckedConfigReachesTheTrainer()
    {
        Assert.All(typeof(Trainer).GetConstructors(), c =>
            Assert.Contains(c.GetParameters(), p => p.ParameterType == typeof(ValidatedTrainConfig))
        );
        Assert.DoesNotContain(typeof(Trainer).GetConstructors(), c =>
            c.GetParameters().Any(p => p.ParameterType == typeof(TrainConfig))
        );
        Assert.Empty(typeof(ValidatedTrainConfig).GetConstructors()); // public ones
        var sclip = TrainConfig.Load(null) with { Method = TrainingMethod.SClip, BatchSize = 6, AccumSteps = 4 };
        var e = Assert.Throws<SettingsException>(() => TrainConfigValidator.ValidateSettings(sclip));
        Assert.Contains("config field accum_steps: 4 does not divide batch_size 6", e.Message);
        Assert.DoesNotContain("train_data", e.Message); // files are the caller's
        var settings = TrainConfigValidator.ValidateSettings(sclip with { AccumSteps = 2 });
        Assert.Equal(TrainingMethod.SClip, settings.Values.Loss.Method);
        // The run's check names the missing files too.
        var run = Assert.Throws<SettingsException>(() => TrainConfigValidator.Validate(sclip with { AccumSteps = 2 }));
        Assert.Contains("config field train_data: not set", run.Message);
        // The default intra-modal source follows where the model came from, as it does for a run.
        var softclip = TrainConfig.Load(null) with { Method = TrainingMethod.SoftClip };
        Assert.Equal(
            (IntraModalSource.Pooled, IntraModalSource.Teacher),
            (
                TrainConfigValidator.ValidateSettings(softclip).Values.Loss.IntraSource,
                TrainConfigValidator.ValidateSettings(softclip, startsFromWeights: true).Values.Loss.IntraSource
            )
        );
    }

    [Fact]
    public void ARunsSavedConfigReadsBack()
    {
        using var dir = new TempDir();
        var config = TrainConfig.Load(null, ["split_seed=3", "lock_image=true"]);
        // holds effective_split_seed, which is written, not read
        File.WriteAllText(dir.File("saved.json"), config.ToJson());
        Assert.Equal(config.ToJson(), TrainConfig.Load(dir.File("saved.json")).ToJson());
    }

    [Fact]
    public void OverridesApplyToAConfigAProgramBuilt()
    {
        var built = TrainConfig.Load(null) with { Steps = 7, RunName = "mine" };
        var changed = built.WithOverrides(["lr=0.01", "loss.caption_weight=0.5", "lock_image=true"]);
        Assert.Equal(
            (7L, "mine", 0.01, 0.5, true),
            (changed.Steps, changed.RunName, changed.Lr, changed.Loss.CaptionWeight, changed.LockImage)
        );
        // The same checks as a file's: the field is named, with a did-you-mean.
        var e = Assert.Throws<SettingsException>(() => built.WithOverrides(["lock_imag=true"]));
        Assert.Contains("lock_imag", e.Message);
        Assert.Contains("did you mean lock_image", e.Message);
        // What was given is the override (a resumed run takes only that from the command line).
        Assert.True(changed.Given!.ContainsKey("lr"));
    }

    [Theory]
    [InlineData(
        "bad.yaml",
        "batch_size: -3\nmethod: nope\nlr: \"abc\"\nloss:\n  caption_weight: -1\n  soft_alpha: 3\nunknwn: 3\n"
    )]
    [InlineData(
        "bad.json",
        "{\"batch_size\": -3,\n \"method\": \"nope\",\n \"lr\": \"abc\",\n \"loss\": {\n  \"caption_weight\": -1,\n"
            + "  \"soft_alpha\": 3},\n \"unknwn\": 3}\n"
    )]
    public void EveryProblemOfAConfigFileIsSaidAtOnceAtItsLine(string name, string text)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(name), text);
        var e = Assert.Throws<SettingsException>(() => TrainConfig.Load(dir.File(name)));
        // Ill-typed values (an enum, a number), an unknown field and the bounds of the fields that could be read, in
        // the file's order: the ill-typed ones do not hide the range errors.
        Assert.Equal(
            [
                ("batch_size", 1),
                ("method", 2),
                ("lr", 3),
                ("loss.caption_weight", 5),
                ("loss.soft_alpha", 6),
                ("unknwn", 7),
            ],
            e.Problems.Select(p => (p.Field, int.Parse(p.Location![(dir.File(name).Length + 1)..]))).ToArray()
        );
        Assert.All(e.Problems, p => Assert.StartsWith(dir.File(name) + ":", p.Location));
        Assert.Contains($"{dir.File(name)}:2: config field method: \"nope\" is not one of", e.Message);

        // An override's problem is not the file's: it has no line, though its section has one.
        var over = Assert.Throws<SettingsException>(() =>
            TrainConfig.Load(dir.File(name), ["loss.soft_alpha=x", "batch_size=0"])
        );
        Assert.Null(over.Problems.Single(p => p.Field == "loss.soft_alpha").Location);
        Assert.Null(over.Problems.Single(p => p.Field == "batch_size").Location);
        Assert.Contains(over.Problems, p => p.Field == "loss.caption_weight" && p.Location == $"{dir.File(name)}:5");
    }

    [Fact]
    public void SyntaxErrorsNameTheLineTheyAreOnInSemiClipsWords()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("tab.yaml"), "batch_size: 4\nsteps: 3\n\tlr: 1\n");
        Assert.StartsWith(
            dir.File("tab.yaml") + ":3: invalid YAML",
            Assert.Throws<InvalidDataException>(() => TrainConfig.Load(dir.File("tab.yaml"))).Message
        );
        File.WriteAllText(dir.File("flow.yaml"), "batch_size: [4\nsteps: 3\n");
        var flow = Assert.Throws<InvalidDataException>(() => TrainConfig.Load(dir.File("flow.yaml"))).Message;
        Assert.DoesNotContain("Exception during deserialization", flow);
        Assert.Contains("left unclosed", flow);
        File.WriteAllText(dir.File("bad.json"), "{\"batch_size\": 4,\n \"steps\": [1, 2 }\n");
        var json = Assert.Throws<InvalidDataException>(() => TrainConfig.Load(dir.File("bad.json"))).Message;
        Assert.StartsWith(dir.File("bad.json") + ":2: invalid JSON", json);
        Assert.DoesNotContain("LineNumber", json);
        Assert.DoesNotContain("BytePositionInLine", json);
    }

    [Fact]
    public void UnknownFieldsAndBadFilesAreNamed()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("bad.json"), "{\"batch_sise\": 3}");
        Assert.Contains(
            "batch_sise",
            Assert.Throws<SettingsException>(() => TrainConfig.Load(dir.File("bad.json"))).Message
        );
        File.WriteAllText(dir.File("broken.yaml"), "method: [unclosed\n");
        Assert.Contains(
            "broken.yaml",
            Assert.Throws<InvalidDataException>(() => TrainConfig.Load(dir.File("broken.yaml"))).Message
        );
        Assert.Contains(
            "not key=value",
            Assert.Throws<ArgumentException>(() => TrainConfig.Load(null, new[] { "oops" })).Message
        );
    }
}

public class ShippedConfigTests
{
    [Fact]
    public void TheExampleConfigInTheRepositoryParses()
    {
        var cfg = TrainConfig.Load(Path.Combine(SharedFiles.RepoRoot, "configs", "rsicd-sclip.yaml"));
        Assert.Equal(SemiClip.Losses.TrainingMethod.SClip, cfg.Method);
        Assert.Equal(0.1, cfg.LabelRatio);
        Assert.Equal(SemiClip.Losses.PseudoLabelKind.OptimalTransport, cfg.Loss.PseudoLabel);
        Assert.Equal(SemiClip.Losses.IntraModalSource.Pooled, cfg.Loss.IntraSource);
    }
}

public class TrainingMethodFieldTests
{
    [Fact]
    public void TheMethodIsTypedAliasesReadAndAnUnvalidatedConfigKeepsIt()
    {
        var config = TrainConfig.Load(null, ["method=\"s-clip+softclip\""]);
        Assert.Equal(SemiClip.Losses.TrainingMethod.SClipSoftClip, config.Method);
        Assert.Equal(
            "sclip+softclip",
            System.Text.Json.Nodes.JsonNode.Parse(config.ToJson())!["method"]!.GetValue<string>()
        );
        // Built in code, never validated: the loss still trains the method the config names.
        var built = new TrainConfig { Method = SemiClip.Losses.TrainingMethod.SClip };
        Assert.Equal(SemiClip.Losses.TrainingMethod.SClip, built.Loss.Method);
        var e = Assert.ThrowsAny<Exception>(() => TrainConfig.Load(null, ["method=\"sclipp\""]));
        Assert.Contains("config field method", e.Message);
        Assert.Contains("clip, sclip, softclip, sclip+softclip", e.Message);
    }
}
