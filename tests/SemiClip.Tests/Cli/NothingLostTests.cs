using SemiClip.Data.Images;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using SemiClip.Runs;
using SemiClip.Tests.Support;

namespace SemiClip.Tests.Cli;

/// <summary>Through the real CLI process: a run name is a run, interruptions save, data is checked before training,
/// evaluation during training works on RSICD's layout, and resume continues each step once.</summary>
public class NothingLostTests
{
    static string[] Train(List<string> common, string run, params string[] extra) =>
        new[] { "train", "--run-name", run }
            .Concat(common.Concat(extra).SelectMany(o => new[] { "--set", o }))
            .ToArray();

    /// <summary>Waits until the run under <paramref name="p"/> has logged a training step (so a signal meets a run in
    /// training).</summary>
    static void WaitForATrainingStep(Process p, string metrics, Func<string> output)
    {
        var clock = Stopwatch.StartNew();
        while (!(File.Exists(metrics) && File.ReadAllText(metrics).Contains("\"kind\":\"train\"")))
        {
            Assert.False(p.HasExited, "training ended before the signal: " + output());
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), "no training step within 2 minutes: " + output());
            Thread.Sleep(100);
        }
    }

    /// <summary>The tiny setup's training images, in a fixed order.</summary>
    static List<string> TrainImages(TempDir dir) =>
        Directory
            .GetFiles(dir.File("data/train"), "*.png", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Keeps the first half of a file: a PNG that a header check passes and a decode refuses.</summary>
    static void CutInHalf(string path)
    {
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
    }

    static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    static string[] Folder(string root) =>
        Directory
            .GetFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f) + ":" + Hash(f))
            .Order(StringComparer.Ordinal)
            .ToArray();

    [Fact]
    public void TrainingTwiceUnderOneNameLeavesTheFirstRunIntactAndOverwriteMovesItAside()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var (code, output) = CliProcess.Run(Train(common, "r", "steps=3", "checkpoint_every=2"));
        Assert.True(code == 0, output);
        var before = Folder(dir.File("runs/r"));

        (code, output) = CliProcess.Run(Train(common, "r", "steps=5", "lr=1e-3"));
        Assert.NotEqual(0, code);
        Assert.Contains("already exists", output);
        Assert.Contains("--resume", output);
        Assert.Contains("--overwrite", output);
        Assert.Equal(before, Folder(dir.File("runs/r")));

        (code, output) = CliProcess.Run(Train(common, "r", "steps=2").Append("--overwrite").ToArray());
        Assert.True(code == 0, output);
        var aside = Assert.Single(Directory.GetDirectories(dir.File("runs"), "r.replaced-*"));
        Assert.Equal(before, Folder(aside));
        Assert.Contains("moved the existing run folder aside", output);
        Assert.DoesNotContain(File.ReadAllLines(dir.File("runs/r/metrics.jsonl")), l => l.Contains("\"step\":3"));

        (code, output) = CliProcess.Run(Train(common, "../../escape", "steps=1"));
        Assert.NotEqual(0, code);
        Assert.Contains("run_name", output);
        Assert.False(Directory.Exists(Path.GetFullPath(Path.Combine(dir.File("runs"), "../../escape"))));
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public void ASignalFinishesTheStepSavesACheckpointAndTheRunResumes(string signal)
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var metrics = dir.File("runs/sig/metrics.jsonl");
        using (
            var p = CliProcess.Start(
                Train(common, "sig", "steps=100000", "checkpoint_every=100000", "method=\"sclip\"", "label_ratio=0.5")
            )
        )
        {
            Assert.False(InheritedSignals.InterruptIgnored());
            var output = new System.Text.StringBuilder();
            p.OutputDataReceived += (_, e) =>
            {
                lock (output)
                    output.AppendLine(e.Data);
            };
            p.ErrorDataReceived += (_, e) =>
            {
                lock (output)
                    output.AppendLine(e.Data);
            };
            WaitForATrainingStep(p, metrics, () =>
            {
                lock (output)
                    return output.ToString();
            });
            Process.Start("kill", $"-{signal} {p.Id}").WaitForExit();
            Assert.True(p.WaitForExit(TimeSpan.FromMinutes(1)), "the run did not stop after the signal");
            p.WaitForExit();
            Assert.Equal(130, p.ExitCode);
            string said;
            lock (output)
                said = output.ToString();
            Assert.Contains("interrupted after step", said);
            Assert.Contains("--run-name sig --resume", said);
        }
        var checkpoint = Assert.Single(Directory.GetFiles(dir.File("runs/sig/checkpoints")));
        long step = long.Parse(
            Path.GetFileNameWithoutExtension(checkpoint)["step-".Length..],
            System.Globalization.CultureInfo.InvariantCulture
        );
        Assert.True(step >= 1);

        var (code, resumed) = CliProcess.Run(
            Train(common, "sig", $"steps={step + 2}").Concat(["--resume", "--allow-config-change"]).ToArray()
        );
        Assert.True(code == 0, resumed);
        Assert.Contains($"method sclip:", resumed);
        Assert.Contains($"steps {step} → {step + 2} (resumed)", resumed);
        var trainSteps = File.ReadAllLines(metrics)
            .Where(l => l.Contains("\"kind\":\"train\""))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64())
            .ToList();
        Assert.Equal(trainSteps.Distinct().Count(), trainSteps.Count); // each step once, across the stop
        Assert.Equal(step + 2, trainSteps[^1]);
    }

    /// <summary>The first Ctrl-C asks for a graceful stop after the step under way; the second ends the process at
    /// once, without the checkpoint and the "interrupted after step" line the graceful stop would give. Told apart
    /// deterministically: an image is a named pipe nobody writes, so the step that draws it never ends, and only the
    /// second signal can end the process.</summary>
    [Fact]
    public void ASecondSignalEndsTheProcessAtOnceWithoutTheGracefulStop()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var image = TrainImages(dir).First();
        File.Delete(image);
        Process.Start("mkfifo", [image])!.WaitForExit();
        var output = new System.Text.StringBuilder();
        string Said()
        {
            lock (output)
                return output.ToString();
        }
        using var p = CliProcess.Start(
            line =>
            {
                lock (output)
                    output.AppendLine(line);
            },
            Train(common, "twice", "steps=100000", "checkpoint_every=100000", "check_images=\"none\"")
        );
        Assert.False(InheritedSignals.InterruptIgnored());
        try
        {
            SecondSignal(p, Said);
        }
        finally
        {
            if (!p.HasExited)
                p.Kill(); // a failed assertion leaves no process waiting on the pipe
        }
        var checkpoints = dir.File("runs/twice/checkpoints");
        Assert.True(
            !Directory.Exists(checkpoints) || Directory.GetFiles(checkpoints).Length == 0,
            "the second signal left a checkpoint"
        );
    }

    static void SecondSignal(Process p, Func<string> said)
    {
        var clock = Stopwatch.StartNew();
        while (!said().Contains("run folder:"))
        {
            Assert.False(p.HasExited, "the run ended before training: " + said());
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), "training did not start: " + said());
            Thread.Sleep(50);
        }
        // Every batch that draws the pipe waits on it for good; the first epoch draws it.
        Thread.Sleep(TimeSpan.FromSeconds(2));

        Process.Start("kill", $"-INT {p.Id}")!.WaitForExit();
        Assert.False(p.WaitForExit(TimeSpan.FromSeconds(2)), "the first Ctrl-C ended the process: " + said());
        Assert.Contains("stopping after this step and saving a checkpoint", said());

        Process.Start("kill", $"-INT {p.Id}")!.WaitForExit();
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(15)), "the second Ctrl-C did not end the process: " + said());
        Assert.NotEqual(0, p.ExitCode);
        Assert.DoesNotContain("interrupted after step", said());
    }

    [Fact]
    public void CtrlCDuringThePreflightEndsAtOnceAndCreatesNothing()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        // A named pipe in place of one image: reading it blocks until a writer comes, so the pre-flight is
        // certainly under way when the signal arrives.
        var image = TrainImages(dir).First();
        File.Delete(image);
        Process.Start("mkfifo", [image])!.WaitForExit();
        var output = new System.Text.StringBuilder();
        using var p = CliProcess.Start(
            line =>
            {
                lock (output)
                    output.AppendLine(line);
            },
            Train(common, "early", "steps=3").Concat(["--check-images", "full"]).ToArray()
        );
        // The pre-flight waits on the pipe for good once it reaches it; a few seconds is ample to get there.
        Thread.Sleep(TimeSpan.FromSeconds(6));
        Assert.False(p.HasExited, "the run ended before the signal: " + output);
        Process.Start("kill", $"-INT {p.Id}")!.WaitForExit();
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(15)), "Ctrl-C during the pre-flight was not obeyed at once");
        Assert.NotEqual(0, p.ExitCode);
        Assert.False(Directory.Exists(dir.File("runs/early")), "a run folder was made: " + output);
        Assert.DoesNotContain("saving a checkpoint", output.ToString());
    }

    [Fact]
    public void EvaluationDataIsCheckedBeforeTrainingWhenEvaluationIsScheduledBySteps()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        File.WriteAllText(
            dir.File("eval.jsonl"),
            "{\"image\": \"data/train/missing-eval.png\", \"caption\": \"a field\", \"split\": \"val\"}\n"
        );
        var (code, output) = CliProcess.Run(
            Train(common, "evalcheck", "steps=4", "eval_every_steps=2", $"eval_captions=\"{dir.File("eval.jsonl")}\"")
        );
        Assert.NotEqual(0, code);
        Assert.Contains("missing-eval.png", output);
        Assert.False(Directory.Exists(dir.File("runs/evalcheck")), output);
    }

    [Fact]
    public void ABadImageMetMidRunIsNamedAfterTheRunIsSaved()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        // A PNG cut short passes the header check and fails when a batch decodes it.
        var image = TrainImages(dir).Last();
        CutInHalf(image);
        var (code, output) = CliProcess.Run(
            Train(common, "cut", "steps=20", "checkpoint_every=1000", "check_images=\"headers\"")
        );
        Assert.NotEqual(0, code);
        Assert.Contains(Path.GetFileName(image), output);
        Assert.Contains("--skip-bad", output);
        Assert.Contains("--check-images full", output);
        Assert.DoesNotContain("this is a bug", output);
        if (output.Contains("before its first step"))
            Assert.False(Directory.Exists(dir.File("runs/cut")), "an untrained run kept its name: " + output);
        else
        {
            // Saved at the step it reached (checkpoint_every alone would have saved nothing), and it goes on.
            Assert.Matches("saved step-\\d+\\.safetensors", output);
            Assert.Single(Directory.GetFiles(dir.File("runs/cut/checkpoints")));
            string[] resume = ["--resume", "--skip-bad", "--allow-config-change"];
            Assert.Contains(string.Join(' ', resume), output);
            (code, output) = CliProcess.Run(Train(common, "cut", "steps=20").Concat(resume).ToArray());
            Assert.True(code == 0, output);
        }
    }

    [Fact]
    public void ResumeFallsBackToTheNewestIntactCheckpointAndSaysWhichItSkipped()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var (code, output) = CliProcess.Run(Train(common, "cut", "steps=4", "checkpoint_every=2"));
        Assert.True(code == 0, output);
        var newest = dir.File("runs/cut/checkpoints/step-00000004.safetensors");
        var bytes = File.ReadAllBytes(newest);
        File.WriteAllBytes(newest, bytes[..(bytes.Length / 2)]);

        (code, output) = CliProcess.Run(Train(common, "cut", "steps=4").Append("--resume").ToArray());
        Assert.True(code == 0, output);
        Assert.Contains("skipped checkpoint step-00000004.safetensors", output);
        Assert.Contains("steps 2 → 4 (resumed)", output);
    }

    [Fact]
    public void ABrokenImageIsFoundBeforeTrainingWithEveryOtherProblemAndNoRunFolder()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var images = TrainImages(dir);
        File.WriteAllText(images[0], "this is not a png");
        CutInHalf(images[1]);

        var (code, output) = CliProcess.Run(Train(common, "broken", "steps=2"));
        Assert.NotEqual(0, code);
        Assert.Contains(Path.GetFileName(images[0]), output);
        Assert.Contains("no run folder was made", output);
        Assert.False(Directory.Exists(dir.File("runs/broken")));

        // Headers cannot see a cut-off image; the full check decodes and finds both, reported together.
        (code, output) = CliProcess.Run(
            Train(common, "broken", "steps=2").Concat(["--check-images", "full"]).ToArray()
        );
        Assert.NotEqual(0, code);
        Assert.Contains("2 image(s) cannot be used", output);
        Assert.Contains(Path.GetFileName(images[1]), output);

        (code, output) = CliProcess.Run("data", "inspect", dir.File("data/train.jsonl"), "--check-images", "full");
        Assert.True(code == 1, output); // problems make a non-zero exit
        Assert.Matches(@"problems\s+2", output);

        (code, output) = CliProcess.Run("shard", dir.File("data/train.jsonl"), "--out", dir.File("shards"));
        Assert.NotEqual(0, code);
        Assert.Contains(Path.GetFileName(images[0]), output);
        Assert.False(
            Directory.Exists(dir.File("shards")) && Directory.GetFiles(dir.File("shards"), "*.tar").Length > 0
        );

        (code, output) = CliProcess.Run(Train(common, "skipped", "steps=2", "skip_bad=true", "check_images=\"full\""));
        Assert.True(code == 0, output);
        Assert.Contains("skipped 2 bad image(s)/row(s)", output);
        var split = File.ReadLines(dir.File("runs/skipped/metrics.jsonl")).First(l => l.Contains("data_split"));
        Assert.Contains("\"paired_images\":38", split);
    }

    [Fact]
    public void TheDefaultCheckDecodesEveryImageWhenThatIsCheapBesideTheRun()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var image = TrainImages(dir).First();
        CutInHalf(image);

        // A run of many steps on a few small images: decoding them all is a sliver of it, so auto decodes and finds
        // the cut-off file that a header check lets through, before anything is trained or made.
        var (code, output) = CliProcess.Run(Train(common, "long", "steps=5000"));
        Assert.NotEqual(0, code);
        Assert.Contains("check_images auto: full decode", output);
        Assert.Contains(Path.GetFileName(image), output);
        Assert.False(Directory.Exists(dir.File("runs/long")));
    }

    [Theory]
    [InlineData(1.0, 10.0, ImageCheckDepth.Full)]
    [InlineData(1.01, 10.0, ImageCheckDepth.Headers)]
    [InlineData(0.0, 0.0, ImageCheckDepth.Full)]
    [InlineData(30.0, 100.0, ImageCheckDepth.Headers)]
    public void AutoDecodesAllWhenThatIsATenthOfTheRunOrLess(double decode, double run, ImageCheckDepth expected)
    {
        Assert.Equal(expected, ImageCheckChoice.Choose(decode, run, out var why));
        Assert.Contains(expected == ImageCheckDepth.Full ? "full decode" : "headers", why);
    }

    [Fact]
    public void AnEmptyCaptionIsDroppedAndItsImageKeepsTheOthers()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var lines = File.ReadAllLines(dir.File("data/train.jsonl"));
        var first = JsonDocument.Parse(lines[0]).RootElement;
        var captions = first
            .GetProperty("captions")
            .EnumerateArray()
            .Select(c => c.GetString()!)
            .Prepend("   ")
            .ToList();
        lines[0] = JsonSerializer.Serialize(new { image = first.GetProperty("image").GetString(), captions });
        File.WriteAllLines(dir.File("data/train.jsonl"), lines);

        var (code, output) = CliProcess.Run(Train(common, "empty", "steps=1"));
        Assert.True(code == 0, output);
        Assert.Contains("dropped 1 empty caption(s)", output);
        var split = File.ReadLines(dir.File("runs/empty/metrics.jsonl")).First(l => l.Contains("data_split"));
        Assert.Contains("\"paired_images\":40", split);
        Assert.Contains("\"empty_captions_dropped\":1", split);
    }

    [Fact]
    public void AFailingEvaluationSavesTheRunBeforeItStops()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var config = SemiClip.Training.TrainConfig.Load(
            null,
            common.Concat([
                "run_name=\"ev\"",
                "steps=8",
                "checkpoint_every=100",
                "eval_every_epochs=1",
                $"eval_classification=\"{dir.File("data/test")}\"",
            ])
        );
        using var session = new SemiClip.Runs.TrainingSession(config, resume: false);
        // the evaluation data goes away after the start checked it
        Directory.Delete(dir.File("data/test"), recursive: true);
        var e = Assert.Throws<InvalidOperationException>(() => session.Train());
        long first = session.Loader.BatchesPerEpoch;
        Assert.Contains($"evaluation at step {first} failed", e.Message);
        Assert.Contains("--resume", e.Message);
        Assert.Equal(
            $"step-{first:D8}.safetensors",
            Path.GetFileName(Assert.Single(Directory.GetFiles(dir.File("runs/ev/checkpoints"))))
        );
    }

    /// <summary>RSICD's layout: one Karpathy file with train/val/test splits, images in a folder of their
    /// own.</summary>
    static void WriteKarpathy(TempDir dir, string[] splits)
    {
        var entries = File.ReadLines(dir.File("data/train.jsonl"))
            .Select(
                (l, i) =>
                {
                    var e = JsonDocument.Parse(l).RootElement;
                    return new
                    {
                        filename = e.GetProperty("image").GetString(),
                        split = splits[i % splits.Length],
                        sentences = e.GetProperty("captions")
                            .EnumerateArray()
                            .Select(c => new { raw = c.GetString() })
                            .ToList(),
                    };
                }
            )
            .ToList();
        Directory.CreateDirectory(dir.File("meta"));
        File.WriteAllText(dir.File("meta/dataset.json"), JsonSerializer.Serialize(new { images = entries }));
    }

    [Fact]
    public void EvaluationDuringTrainingReadsRsicdsLayoutPrintsItsResultsAndChecksTheSplitFirst()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir).Where(o => !o.StartsWith("train_data=", StringComparison.Ordinal)).ToList();
        WriteKarpathy(dir, ["train", "train", "val"]);
        var rsicd = new[]
        {
            $"train_data=\"{dir.File("meta/dataset.json")}\"",
            $"image_root=\"{dir.File("data")}\"",
            $"eval_captions=\"{dir.File("meta/dataset.json")}\"",
            "eval_every_epochs=1",
        };
        var (code, output) = CliProcess.Run(Train(common, "rsicd", rsicd.Append("epochs=2").ToArray()));
        Assert.True(code == 0, output);
        Assert.Contains("eval at step", output);
        Assert.Contains("mean_recall", output);
        Assert.Matches(@"val_loss \d+\.\d{4}(,|\s)", output); // a loss is a number, not a percentage
        Assert.DoesNotMatch(@"val_loss [\d.]+%", output);
        Assert.Equal(
            2,
            File.ReadLines(dir.File("runs/rsicd/metrics.jsonl")).Count(l => l.Contains("\"kind\":\"eval\""))
        );

        (code, output) = CliProcess.Run(
            Train(common, "nosplit", rsicd.Concat(["steps=2", "eval_split=\"test\""]).ToArray())
        );
        Assert.NotEqual(0, code);
        Assert.Contains("no images in split 'test' (splits present: train, val)", output);
        Assert.False(Directory.Exists(dir.File("runs/nosplit")));
    }

    [Fact]
    public void KeywordsComeFromTheTrainSplitUnlessAskedOtherwise()
    {
        using var dir = new TempDir();
        TinySetup.Write(dir);
        WriteKarpathy(dir, ["train", "test"]);
        var path = dir.File("meta/dataset.json");
        var doc = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        foreach (var image in doc["images"]!.AsArray().Where(i => i!["split"]!.GetValue<string>() == "test"))
            foreach (var s in image!["sentences"]!.AsArray())
                s!["raw"] = "a zeppelin hangar beside a zeppelin";
        File.WriteAllText(path, doc.ToJsonString());

        var (code, output) = CliProcess.Run(
            "keywords",
            "extract",
            path,
            "--image-root",
            dir.File("data"),
            "--out",
            dir.File("kw.txt")
        );
        Assert.True(code == 0, output);
        Assert.DoesNotContain("zeppelin", File.ReadAllText(dir.File("kw.txt")));
        (code, output) = CliProcess.Run(
            "keywords",
            "extract",
            path,
            "--image-root",
            dir.File("data"),
            "--split",
            "all",
            "--out",
            dir.File("all.txt")
        );
        Assert.True(code == 0, output);
        Assert.Contains("zeppelin", File.ReadAllText(dir.File("all.txt")));
    }

    [Fact]
    public void IndexesRecordTheirModelReportsFollowTheirWeightsAndRunFoldersAndCheckpointsServeAsModels()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        Assert.Equal(0, CliProcess.Run(Train(common, "a", "steps=2", "checkpoint_every=1")).ExitCode);
        Assert.Equal(0, CliProcess.Run(Train(common, "b", "steps=2", "seed=1")).ExitCode);
        var (code, output) = CliProcess.Run(
            "embed",
            "--model",
            dir.File("runs/a"),
            "--images",
            dir.File("data/test"),
            "--out",
            dir.File("a.safetensors")
        );
        Assert.True(code == 0, output);
        (code, output) = CliProcess.Run(
            "search",
            "a river",
            "--index",
            dir.File("a.safetensors"),
            "--model",
            dir.File("runs/a"),
            "--top",
            "3"
        );
        Assert.True(code == 0, output);
        (code, output) = CliProcess.Run(
            "search",
            "a river",
            "--index",
            dir.File("a.safetensors"),
            "--model",
            dir.File("runs/b")
        );
        Assert.NotEqual(0, code);
        Assert.Contains("made by another model", output);
        (code, output) = CliProcess.Run(
            "search",
            "a river",
            "--index",
            dir.File("a.safetensors"),
            "--model",
            dir.File("runs/b"),
            "--allow-other-model"
        );
        Assert.True(code == 0, output);

        // info and eval take a run folder and a training checkpoint (its weights, the run's vocabulary).
        var checkpoint = dir.File("runs/a/checkpoints/step-00000001.safetensors");
        foreach (var model in new[] { dir.File("runs/a"), checkpoint })
        {
            (code, output) = CliProcess.Run("info", model);
            Assert.True(code == 0, output);
            Assert.Contains("ViT 1 layers", output);
        }
        (code, output) = CliProcess.Run(
            "eval",
            "--model",
            checkpoint,
            "--classification",
            dir.File("data/test"),
            "--out",
            dir.File("ckpt-eval")
        );
        Assert.True(code == 0, output);
        Assert.Contains("zero-shot top-1", output);

        (code, output) = CliProcess.Run(
            "eval",
            "--model",
            dir.File("runs/a"),
            "--classification",
            dir.File("data/test")
        );
        Assert.True(code == 0, output);
        Assert.Equal(0, CliProcess.Run("report", dir.File("runs/a"), "--out", dir.File("rep")).ExitCode);
        File.SetLastWriteTimeUtc(dir.File("runs/a/model.safetensors"), DateTime.UtcNow.AddMinutes(1));
        (code, output) = CliProcess.Run("report", dir.File("runs/a"), "--out", dir.File("rep"));
        Assert.NotEqual(0, code);
        Assert.Contains("older than", output);
    }
}
