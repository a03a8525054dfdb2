using SemiClip.Tests.Support;
using SkiaSharp;

namespace SemiClip.Tests.Cli;

public class CliEndToEndTests
{
    static string[] Train(List<string> common, string run, string method, params string[] extra) =>
        new[] { "train", "--run-name", run, "--method", method, "--device", "cpu" }
            .Concat(common.Concat(extra).SelectMany(o => new[] { "--set", o }))
            .ToArray();

    [Fact]
    public void AnUnsetDeviceOptionLeavesTheConfigsDevice()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir).Where(o => !o.StartsWith("device=", StringComparison.Ordinal)).ToList();
        var args = new[] { "train", "--run-name", "dev", "--method", "clip" }
            .Concat(common.Concat(["steps=1", "device=\"cpu\""]).SelectMany(o => new[] { "--set", o }))
            .ToArray();
        var (code, output) = CliProcess.Run(args);
        Assert.True(code == 0, output);
        Assert.Contains("\"device\": \"cpu\"", File.ReadAllText(dir.File("runs/dev/config.json")));
    }

    [Theory]
    [InlineData("clip")]
    [InlineData("sclip")]
    [InlineData("softclip")]
    [InlineData("sclip+softclip")]
    public void TrainsEachMethodThenEvaluatesAndReports(string method)
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var run = method.Replace('+', '_');
        var (code, output) = CliProcess.Run(
            Train(
                common,
                run,
                method,
                "label_ratio=0.5",
                "steps=6",
                "checkpoint_every=3",
                "eval_every_epochs=1",
                $"eval_classification=\"{dir.File("data/test")}\"",
                $"eval_captions=\"{dir.File("data/test.jsonl")}\""
            )
        );
        Assert.True(code == 0, output);
        var runDir = dir.File($"runs/{run}");
        Assert.True(File.Exists(Path.Combine(runDir, "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(runDir, "config.json")));
        var metrics = File.ReadAllLines(Path.Combine(runDir, "metrics.jsonl"));
        Assert.Contains(metrics, l => l.Contains("\"data_split\""));
        var expectedPart = method switch
        {
            "clip" => "contrastive",
            "sclip" => "caption",
            "softclip" => "negatives",
            _ => "keyword",
        };
        Assert.Contains(metrics, l => l.Contains($"\"{expectedPart}\""));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(runDir, "tb")));
        // CLIP/SoftCLIP: 2 batches per epoch, so 3 evaluations in 6 steps. S-CLIP (batch_composition split): half the
        // batch is paired, so an epoch over the paired set takes 4 steps and 6 steps hold 1 evaluation.
        int expectedEvals = method.Contains("sclip", StringComparison.Ordinal) ? 1 : 3;
        Assert.Equal(
            expectedEvals,
            metrics.Count(l =>
                l.Contains("\"kind\":\"eval\"") && l.Contains("zero_shot_top1") && l.Contains("mean_recall")
            )
        );

        (code, output) = CliProcess.Run(
            "eval",
            "--model",
            runDir,
            "--classification",
            dir.File("data/test"),
            "--captions",
            dir.File("data/test.jsonl"),
            "--probe-train",
            dir.File("data/train"),
            "--probe-test",
            dir.File("data/test"),
            "--device",
            "cpu"
        );
        Assert.True(code == 0, output);
        Assert.Contains("zero-shot top-1", output);
        Assert.Contains("linear probe accuracy", output);
        Assert.True(File.Exists(Path.Combine(runDir, "report.json")));
        Assert.Contains("## Retrieval", File.ReadAllText(Path.Combine(runDir, "report.md")));

        (code, output) = CliProcess.Run("report", runDir, "--out", dir.File("report"));
        Assert.True(code == 0, output);
        foreach (var png in new[] { "comparison.png", $"{run}-curves.png" })
            using (var bmp = SKBitmap.Decode(dir.File($"report/{png}")))
                Assert.True(bmp is { Width: > 100, Height: > 100 }, png);
    }

    [Fact]
    public void InfoSynthDoctorAndHelpWork()
    {
        using var dir = new TempDir();
        var (code, output) = CliProcess.Run(
            "synth",
            "--domain",
            "tabletop",
            "--out",
            dir.File("tt"),
            "--train-per-class",
            "2",
            "--test-per-class",
            "1",
            "--size",
            "32"
        );
        Assert.True(code == 0, output);
        Assert.Equal(12, File.ReadAllLines(dir.File("tt/train.jsonl")).Length);

        var weights = dir.File("w.safetensors");
        using (var model = new SemiClip.Model.ClipModel(TinySetup.Model(300)))
            SemiClip.Model.ClipCheckpoint.Save(model, weights, SemiClip.Model.WeightNaming.HuggingFace);
        (code, output) = CliProcess.Run("info", weights);
        Assert.True(code == 0, output);
        Assert.Contains("Hugging Face", output);
        Assert.Contains("ViT 1 layers, width 32, patch 8", output);

        (code, output) = CliProcess.Run("doctor", "--device", "cpu");
        Assert.True(code == 0, output);
        Assert.Matches(@"fp32 matmul 1024\^3\s+\d+\.\d GFLOP/s", output);
        Assert.Matches(
            @"bf16 matmul 512\^3\s+\d+\.\d GFLOP/s \((native: precision bf16 pays|a fallback: keep)",
            output
        );
        Assert.Contains("keeps freed memory", output); // glibc: the CLI sets its heap policy at start
        (code, output) = CliProcess.Run(
            new Dictionary<string, string> { ["SEMICLIP_KEEP_FREED_MEMORY"] = "0" },
            ["doctor", "--device", "cpu"]
        );
        Assert.True(code == 0, output);
        Assert.Contains("returns freed memory", output);

        (code, output) = CliProcess.Run("--help");
        Assert.Contains("demo", output);
        Assert.Contains("train", output);
    }

    [Fact]
    public void BadInputGivesAClearErrorAndExitCodeOne()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        File.AppendAllText(dir.File("data/train.jsonl"), "{\"image\": \"train/nowhere.png\", \"caption\": \"lost\"}\n");
        var (code, output) = CliProcess.Run(Train(common, "bad", "clip", "steps=2"));
        Assert.Equal(1, code);
        Assert.Contains("train.jsonl:41", output);
        Assert.Contains("nowhere.png", output);

        (code, output) = CliProcess.Run(Train(common, "skip", "clip", "steps=2", "skip_bad=true"));
        Assert.True(code == 0, output);
        Assert.Contains("nowhere.png", File.ReadAllText(dir.File("runs/skip/metrics.jsonl")));

        (code, output) = CliProcess.Run(Train(common, "typo", "clip", "stepz=2"));
        Assert.Equal(1, code);
        Assert.Contains("stepz", output);
    }
}
