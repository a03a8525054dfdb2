using System.Text.Json.Nodes;
using SemiClip.Data;
using SemiClip.Evaluation;
using SemiClip.Model;
using SemiClip.Runs;
using SemiClip.Tests.Support;
using SemiClip.Tokenization;
using SemiClip.Training;
using static TorchSharp.torch;

namespace SemiClip.Tests.Training;

/// <summary>What the user said is what runs: settings are checked before anything is written, nothing is
/// dropped silently, and a resumed run refuses settings it would otherwise ignore.</summary>
public class TrustworthyRunTests
{
    static TrainConfig Config(TempDir dir, List<string> common, params string[] extra) =>
        TrainConfig.Load(null, common.Concat(extra));

    [Fact]
    public void SClipWithoutAKeywordFileIsAnErrorThatSaysHowToFixIt()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir).Where(o => !o.StartsWith("keywords=", StringComparison.Ordinal)).ToList();
        var e = Assert.Throws<SettingsException>(() =>
            new TrainingSession(
                Config(dir, common, "method=\"sclip\"", "label_ratio=0.5", "steps=2", "run_name=\"k\""),
                false
            )
        );
        Assert.Contains("keywords", e.Message);
        Assert.Contains("loss.keyword_weight=0", e.Message);
        Assert.False(Directory.Exists(dir.File("runs/k")), "a refused start must leave no run folder");

        using (
            var session = new TrainingSession(
                Config(
                    dir,
                    common,
                    "method=\"sclip\"",
                    "label_ratio=0.5",
                    "steps=1",
                    "run_name=\"k0\"",
                    "loss.keyword_weight=0"
                ),
                false
            )
        )
            session.Train();
        var saved = JsonNode.Parse(File.ReadAllText(dir.File("runs/k0/config.json")))!;
        Assert.Equal(0.0, saved["loss"]!["keyword_weight"]!.GetValue<double>());
    }

    [Fact]
    public void ABadSettingOrBadDataLeavesNoRunFolderBehind()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        foreach (
            var (setting, field) in new[]
            {
                ("precision=\"fp16\"", "precision"),
                ("batch_composition=\"half\"", "batch_composition"),
                ("lr=0", "lr"),
                ("label_ratio=1.5", "label_ratio"),
                ("keywords=\"missing.txt\"", "keywords"),
                ("pretrained=\"nowhere\"", "pretrained"),
                ("loss.soft_alpha=2", "loss.soft_alpha"),
                ("csv_separator=\"ab\"", "csv_separator"),
            }
        )
        {
            // Values of the wrong kind are refused while the config is read, bad combinations when the session
            // validates it.
            var e = Assert.ThrowsAny<Exception>(() =>
                new TrainingSession(Config(dir, common, setting, "steps=1", "run_name=\"bad\""), false)
            );
            Assert.True(e is ArgumentException or InvalidDataException or SettingsException, e.ToString());
            Assert.Contains($"config field {field}", e.Message);
            Assert.False(Directory.Exists(dir.File("runs/bad")), setting);
        }
        // Data that fails while being read (after validation passed) also leaves nothing behind.
        File.WriteAllText(dir.File("broken.jsonl"), "{\"image\": \"nope.png\", \"captions\": [\"a\"]}\n");
        Assert.ThrowsAny<Exception>(() =>
            new TrainingSession(
                Config(dir, common, $"train_data=\"{dir.File("broken.jsonl")}\"", "steps=1", "run_name=\"bad\""),
                false
            )
        );
        Assert.False(Directory.Exists(dir.File("runs/bad")));
    }

    [Fact]
    public void ResumeRefusesChangedSettingsUnlessAllowedAndThenLogsThem()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        using (
            var first = new TrainingSession(
                Config(dir, common, "steps=4", "checkpoint_every=2", "run_name=\"r\""),
                false
            )
        )
        {
            first.Trainer.BeforeStep = step =>
            {
                if (step == 3)
                    throw new OperationCanceledException("stop");
            };
            Assert.Throws<OperationCanceledException>(() => first.Train());
        }
        // Only bookkeeping changed: the run continues as saved. (Not threads: set_num_threads is process-wide and would
        // change the reduction order of tests running beside this one.)
        using (
            var same = new TrainingSession(
                Config(dir, common, "steps=4", "checkpoint_every=2", "run_name=\"r\"", "workers=2", "device=\"cpu\""),
                true
            )
        )
            Assert.Equal(2, same.StartStep);
        // A bare resume (only the run named) takes everything from the saved config.
        using (
            var bare = new TrainingSession(
                TrainConfig.Load(null, [$"runs_dir=\"{dir.File("runs")}\"", "run_name=\"r\""]),
                true
            )
        )
            Assert.Equal(8, bare.Config.BatchSize); // the saved value, not the default 32

        var e = Assert.Throws<SettingsException>(() =>
            new TrainingSession(Config(dir, common, "steps=4", "checkpoint_every=2", "run_name=\"r\"", "lr=0.01"), true)
        );
        Assert.Contains("config field lr: was 0.0005, now 0.01", e.Message);
        Assert.Contains("allow_config_change", e.Message);

        using (
            var changed = new TrainingSession(
                Config(dir, common, "steps=4", "checkpoint_every=2", "run_name=\"r\"", "lr=0.01"),
                true,
                allowConfigChange: true
            )
        )
        {
            Assert.Equal(0.01, changed.Config.Lr);
            changed.Train();
        }
        var events = File.ReadLines(dir.File("runs/r/metrics.jsonl"))
            .Select(l => JsonNode.Parse(l)!)
            .Where(n => n["kind"]!.GetValue<string>() == "config_change")
            .ToList();
        var change = Assert.Single(events)["payload"]!["changes"]!.AsArray().Single()!;
        Assert.Equal("lr", change["field"]!.GetValue<string>());
        Assert.Equal(0.01, JsonNode.Parse(File.ReadAllText(dir.File("runs/r/config.json")))!["lr"]!.GetValue<double>());
    }

    [Fact]
    public void PretrainedAcceptsARunFolder()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        using (var s = new TrainingSession(Config(dir, common, "steps=1", "run_name=\"base\""), false))
            s.Train();
        using var session = new TrainingSession(
            Config(dir, common, "steps=1", "run_name=\"next\"", $"pretrained=\"{dir.File("runs/base")}\""),
            false
        );
        Assert.Equal(Path.Combine(dir.File("runs/base"), "model.safetensors"), session.Config.Pretrained);
        var e = Assert.Throws<SettingsException>(() =>
            new TrainingSession(
                Config(dir, common, "steps=1", "run_name=\"x\"", $"pretrained=\"{dir.File("data")}\""),
                false
            )
        );
        Assert.Contains("without model.safetensors", e.Message);
    }

    [Fact]
    public void BareWeightsWithAMismatchedTokenizerAreRefusedNamingBothSizes()
    {
        using var dir = new TempDir();
        TinySetup.Write(dir);
        int vocab = ClipTokenizer.FromMergesFile(dir.File("merges.txt")).VocabSize;
        using (var model = new ClipModel(TinySetup.Model(vocab)))
            ClipCheckpoint.Save(model, dir.File("w.safetensors"));
        // OpenAI's 49,408-token vocabulary
        var e = Assert.Throws<ArgumentException>(() => ModelBundle.Load(dir.File("w.safetensors")));
        Assert.Contains($"{vocab} rows", e.Message);
        Assert.Contains("49408 tokens", e.Message);
        using var ok = ModelBundle.Load(dir.File("w.safetensors"), dir.File("merges.txt"));
        Assert.Equal(vocab, ok.Tokenizer.VocabSize);
    }

    [Fact]
    public void CsvColumnsAndSeparatorComeFromTheConfigAndErrorsNameTheField()
    {
        using var dir = new TempDir();
        TestImages.Png(dir.File("a.png"));
        File.WriteAllText(dir.File("caps.csv"), "img;text\na.png;a red square\n");
        var config = TrainConfig.Load(
            null,
            [
                $"train_data=\"{dir.File("caps.csv")}\"",
                "csv_img_key=\"img\"",
                "csv_caption_key=\"text\"",
                "csv_separator=\";\"",
            ]
        );
        var samples = CaptionDatasetReader.Read(
            config.TrainData!,
            config.CaptionOptions(),
            new BadInputReport(BadInputPolicy.FailFast)
        );
        Assert.Equal("a red square", Assert.Single(samples).Captions.Single());

        var wrong = TrainConfig.Load(null, [$"train_data=\"{dir.File("caps.csv")}\"", "csv_separator=\";\""]);
        var e = Assert.Throws<SettingsException>(() =>
            CaptionDatasetReader.Read(
                wrong.TrainData!,
                wrong.CaptionOptions(),
                new BadInputReport(BadInputPolicy.FailFast)
            )
        );
        Assert.Equal("csv_img_key", Assert.Single(e.Problems).Field);
        Assert.StartsWith(dir.File("caps.csv") + ":1: ", e.Message);
        Assert.DoesNotContain("--image-column", e.Message);
        Assert.Contains("--csv-img-key", SemiClip.Cli.FlagHints.Describe(e));
    }

    [Fact]
    public void EveryBadRowOfACaptionFileIsSaidAtOnce()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("a.png"), "");
        File.WriteAllText(
            dir.File("caps.csv"),
            "filepath,title\na.png,a red square\nb.png,a cat\nc.png,a cow\nd.png,a dog\n"
        );
        var options = TrainConfig.Load(null, [$"train_data=\"{dir.File("caps.csv")}\""]).CaptionOptions();
        var e = Assert.Throws<BadInputException>(() =>
            CaptionDatasetReader.Read(dir.File("caps.csv"), options, new BadInputReport(BadInputPolicy.FailFast))
        );
        // b.png, c.png and d.png do not exist: every one of them, each once.
        var skipped = new BadInputReport(BadInputPolicy.Skip);
        CaptionDatasetReader.Read(dir.File("caps.csv"), options, skipped);
        Assert.Equal(3, skipped.Count);
        Assert.Equal(skipped.Items, e.Problems);
        foreach (var bad in skipped.Items)
            Assert.Contains(bad.ToString(), e.Message);
        Assert.StartsWith($"{skipped.Count} bad inputs", e.Message);
    }

    [Fact]
    public void SkippedUnreadableImagesLeaveEveryMetricInsteadOfScoringAsBlanks()
    {
        using var dir = new TempDir();
        TinySetup.Write(dir);
        int vocab = ClipTokenizer.FromMergesFile(dir.File("merges.txt")).VocabSize;
        using var seeded = new Generator(3);
        using var bundle = new ModelBundle(
            new ClipModel(TinySetup.Model(vocab), seeded),
            ClipTokenizer.FromMergesFile(dir.File("merges.txt"))
        );
        var suite = new EvaluationSuite(bundle, CPU, workers: 1);
        var templates = new[] { "a photo of a {}." };
        var clean = suite.ZeroShot(dir.File("data/test"), templates, new BadInputReport(BadInputPolicy.Skip));
        var firstClass = Directory.GetDirectories(dir.File("data/test")).Order(StringComparer.Ordinal).First();
        File.WriteAllText(Path.Combine(firstClass, "zz-corrupt.png"), "not an image");
        var report = new BadInputReport(BadInputPolicy.Skip);
        var withBad = suite.ZeroShot(dir.File("data/test"), templates, report);
        Assert.Equal(1, report.Count);
        Assert.Equal(clean.Images, withBad.Images);
        Assert.Equal(clean.Top1, withBad.Top1, 9);
    }

    [Fact]
    public void InBf16TheLogitScaleClampReachesTheFloat32MasterWeight()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        using var session = new TrainingSession(
            Config(dir, common, "steps=2", "run_name=\"b\"", "precision=\"bf16\"", "lr=0.1", "warmup_steps=0"),
            false
        );
        using var high = tensor(4.7f); // above ln 100 = 4.605
        using (no_grad())
            session.Model.LogitScaleParameter.copy_(high);
        // The master copy was taken when the optimiser was built; put it above the bound as well.
        using (no_grad())
            foreach (var (name, t) in session.Trainer.Optimizer.StateTensors())
                if (name == "optim.master.logit_scale")
                    t.copy_(high);
        using var batch = session.Loader.Batches(new LoaderPosition(0, 0), 1).First();
        session.Trainer.Step(batch, 0);
        var master = session.Trainer.Optimizer.StateTensors().Single(kv => kv.Key == "optim.master.logit_scale").Value;
        Assert.True(master.item<float>() <= Math.Log(100) + 1e-6, $"master logit_scale {master.item<float>()}");
    }
}
