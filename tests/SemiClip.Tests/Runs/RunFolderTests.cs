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
        using (var run = RunFolder.Create(dir.Path, "r1"))
        {
            run.SaveConfig(new { Method = "sclip", BatchSize = 8 });
            run.LogMetrics(1, new Dictionary<string, double> { ["loss"] = 2.5, ["lr"] = 1e-4 });
            run.LogMetrics(2, new Dictionary<string, double> { ["loss"] = 2.0, ["lr"] = 2e-4 });
        }
        var root = Path.Combine(dir.Path, "r1");
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "config.json")));
        Assert.Equal("sclip", config.RootElement.GetProperty("method").GetString());

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
}
