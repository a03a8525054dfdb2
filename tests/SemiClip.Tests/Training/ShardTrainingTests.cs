using SemiClip.Data;
using SemiClip.IO;
using SemiClip.Runs;
using SemiClip.Tests.Support;
using SemiClip.Training;

namespace SemiClip.Tests.Training;

/// <summary>Training streamed from webdataset shards made by <c>semiclip shard</c>.</summary>
public class ShardTrainingTests
{
    [Fact]
    public void ShardCommandConvertsCaptionsAndSClipTrainsFromTheShardsAndResumesExactly()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir, perClass: 6);
        var (code, output) = CliProcess.Run(
            "shard",
            dir.File("data/train.jsonl"),
            "--out",
            dir.File("shards"),
            "--samples-per-shard",
            "10"
        );
        Assert.True(code == 0, output);
        var pattern = output
            .Split('\n')
            .Single(l => l.StartsWith("train_data: ", StringComparison.Ordinal))["train_data: ".Length..]
            .Trim();
        Assert.Contains("{000000..", pattern);
        var trainLines = File.ReadLines(dir.File("data/train.jsonl")).Count(l => l.Trim().Length > 0);
        Assert.Contains($"wrote {trainLines} samples ({trainLines} with captions)", output);

        var start = TinySetup.SavedStart(dir); // both runs start alike (see SavedStart)
        List<string> Settings(string run) =>
            common
                .Where(s => !s.StartsWith("train_data=", StringComparison.Ordinal))
                .Concat([
                    $"train_data=\"{pattern}\"",
                    "method=\"sclip\"",
                    "label_ratio=0.5",
                    "steps=6",
                    "checkpoint_every=3",
                    $"run_name=\"{run}\"",
                    "shuffle_buffer=16",
                    start,
                ])
                .ToList();
        using (var straight = new TrainingSession(TrainConfig.Load(null, Settings("straight")), resume: false))
            straight.Train();

        var runDir = dir.File("runs/cut");
        using (var cut = new TrainingSession(TrainConfig.Load(null, Settings("cut")), resume: false))
            cut.Train();
        File.Delete(Path.Combine(runDir, "model.safetensors"));
        File.Delete(TrainCheckpoint.PathFor(Path.Combine(runDir, "checkpoints"), 6));
        using (var resumed = new TrainingSession(TrainConfig.Load(null, Settings("cut")), resume: true))
        {
            Assert.Equal(3, resumed.StartStep);
            resumed.Train();
        }
        using var a = new SafeTensorsReader(dir.File("runs/straight/model.safetensors"));
        using var b = new SafeTensorsReader(Path.Combine(runDir, "model.safetensors"));
        foreach (var name in a.Names)
        {
            using var ta = a.Read(name);
            using var tb = b.Read(name);
            Assert.True(ta.bytes.SequenceEqual(tb.bytes), $"{name} differs after resuming from the shards");
        }
        var split = File.ReadLines(dir.File("runs/straight/metrics.jsonl"))
            .First(l => l.Contains("data_split", StringComparison.Ordinal));
        Assert.Contains("\"shards\":", split);
        // One schema for both sources: the keys a caption-file run writes, plus what only shards have.
        var keys = System
            .Text.Json.JsonDocument.Parse(split)
            .RootElement.GetProperty("payload")
            .EnumerateObject()
            .Select(p => p.Name)
            .ToList();
        Assert.Equal(["label_ratio", "seed", "paired_images", "unpaired_images", "shards", "shuffle_buffer"], keys);
    }

    [Fact]
    public void MissingShardsAreAConfigErrorNamingTheFieldAndTheShard()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<SettingsException>(() =>
            TrainingConfigOf(dir, $"train_data=\"{dir.File("none-{0..3}.tar")}\"")
        );
        Assert.Contains("config field train_data", e.Message);
        Assert.Contains("none-0.tar", e.Message);
    }

    static TrainConfig TrainingConfigOf(TempDir dir, string setting) =>
        TrainConfigValidator.Validate(TrainConfig.Load(null, [$"runs_dir=\"{dir.File("runs")}\"", setting])).Values;
}
