using System.Text.Json;
using SemiClip.Tests.Support;

namespace SemiClip.Tests.Training;

/// <summary>Validation during training and the best step kept, through the real CLI.</summary>
public class KeepBestTests
{
    [Fact]
    public void TheBestValidationStepIsKeptAndRecorded()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        string[] Train(string run, params string[] extra) =>
            ["train", "--run-name", run, .. common.Concat(extra).SelectMany(o => new[] { "--set", o })];
        var (code, output) = CliProcess.Run(
            Train(
                "best",
                "steps=8",
                "lr=2e-3",
                "eval_every_steps=2",
                $"eval_captions=\"{dir.File("data/test.jsonl")}\"",
                $"eval_classification=\"{dir.File("data/test")}\"",
                "keep_best=\"val_loss\""
            )
        );
        Assert.True(code == 0, output);
        var rows = File.ReadLines(dir.File("runs/best/metrics.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.GetProperty("kind").GetString() == "eval")
            .ToList();
        Assert.Equal([2L, 4L, 6L, 8L], rows.Select(r => r.GetProperty("step").GetInt64()));
        var lowest = rows.MinBy(r => r.GetProperty("val_loss").GetDouble());
        var best = JsonDocument.Parse(File.ReadAllText(dir.File("runs/best/best/best.json"))).RootElement;
        Assert.Equal(lowest.GetProperty("step").GetInt64(), best.GetProperty("step").GetInt64());
        Assert.Equal(lowest.GetProperty("val_loss").GetDouble(), best.GetProperty("value").GetDouble(), 12);
        Assert.True(
            rows.All(r => r.TryGetProperty("val_zero_shot_top1", out _) && r.TryGetProperty("val_mean_recall", out _))
        );

        // The kept weights are that step's: evaluating them gives the validation loss recorded for it.
        using (var kept = SemiClip.Model.ClipCheckpoint.Load(dir.File("runs/best/best/model.safetensors")))
        using (var last = SemiClip.Model.ClipCheckpoint.Load(dir.File("runs/best/model.safetensors")))
            Assert.Equal(
                best.GetProperty("step").GetInt64() == 8,
                kept.state_dict()["visual.proj"].equal(last.state_dict()["visual.proj"]).all().item<bool>()
            );
        // best/ (folder or weights file) reads with the run's vocabulary, not OpenAI's, like checkpoints/ does.
        int runVocab = SemiClip.Tokenization.ClipTokenizer.FromMergesFile(dir.File("merges.txt")).VocabSize;
        foreach (var kept in new[] { dir.File("runs/best/best"), dir.File("runs/best/best/model.safetensors") })
            using (var bundle = SemiClip.Model.ModelBundle.Load(kept))
                Assert.Equal(runVocab, bundle.Tokenizer.VocabSize);

        (code, output) = CliProcess.Run(
            Train(
                "nothing",
                "steps=2",
                "keep_best=\"val_zero_shot_top1\"",
                "eval_every_steps=1",
                $"eval_captions=\"{dir.File("data/test.jsonl")}\""
            )
        );
        Assert.NotEqual(0, code);
        Assert.Contains("keep_best: val_zero_shot_top1 needs eval_classification", output);
    }
}
