using System.Text.Json;
using SemiClip.Runs;
using SemiClip.Tests.Support;

namespace SemiClip.Tests.Runs;

public class RunFolderTests
{
    [Fact]
    public void WritesConfigMetricsAndParsableTensorBoardEvents()
    {
        using var dir = new TempDir();
        using (var run = new RunFolder(RunFolder.PathFor(dir.Path, "r1")))
        {
            run.LogMetrics(1, new Dictionary<string, double> { ["loss"] = 2.5, ["lr"] = 1e-4 });
            run.LogMetrics(2, new Dictionary<string, double> { ["loss"] = 2.0, ["lr"] = 2e-4 });
        }
        var root = Path.Combine(dir.Path, "r1");

        var lines = File.ReadAllLines(Path.Combine(root, "metrics.jsonl"));
        Assert.Equal(2, lines.Length);
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal(2, second.RootElement.GetProperty("step").GetInt64());
        Assert.Equal(2.0, second.RootElement.GetProperty("loss").GetDouble());

        var eventFile = Assert.Single(Directory.GetFiles(Path.Combine(root, "tb"), "events.out.tfevents.*"));
        var scalars = TfRecordReader.ReadScalars(eventFile);
        Assert.Contains(scalars, s => s.Tag == "train/loss" && s.Step == 1 && s.Value == 2.5f);
        Assert.Contains(scalars, s => s.Tag == "train/lr" && s.Step == 2 && Math.Abs(s.Value - 2e-4f) < 1e-9);
    }

    [Fact]
    public void AResumeDropsTheLinesOfStepsAfterItsCheckpointAndKeepsEvents()
    {
        using var dir = new TempDir();
        using var run = new RunFolder(dir.File("r"));
        run.LogEvent("data_split", new { paired_images = 3 });
        for (int step = 10; step <= 40; step += 10)
            run.LogMetrics(step, new Dictionary<string, double> { ["loss"] = step });
        run.LogEvent("config_change", new { step = 30 });
        run.TruncateMetricsAfter(20);
        run.LogMetrics(30, new Dictionary<string, double> { ["loss"] = 1 });
        var steps = File.ReadAllLines(run.MetricsPath)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => e.TryGetProperty("step", out var s) ? s.GetInt64() : -1)
            .ToList();
        Assert.Equal(new long[] { -1, 10, 20, 30 }, steps);
    }

    [Fact]
    public void MovingARunAsideKeepsEveryFile()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("r/checkpoints"));
        File.WriteAllText(dir.File("r/checkpoints/step-00000001.safetensors"), "x");
        var moved = RunFolder.MoveAside(dir.File("r"));
        Assert.False(Directory.Exists(dir.File("r")));
        Assert.StartsWith(dir.File("r.replaced-"), moved);
        Assert.Equal("x", File.ReadAllText(Path.Combine(moved, "checkpoints/step-00000001.safetensors")));
    }
}
