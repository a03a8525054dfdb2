using SemiClip.Data;
using SemiClip.Serve;
using SemiClip.Tests.Support;

namespace SemiClip.Tests.Serve;

/// <summary>Saved captions land in a JSONL file that train's reader reads back, other lines kept.</summary>
public class CaptionJournalTests
{
    [Fact]
    public void SavesInTheFormatTrainReadsKeepingOtherLinesAndJoiningASecondCaption()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("images"));
        foreach (var n in new[] { "a.png", "b.png", "c.png" })
            TestImages.Png(dir.File($"images/{n}"));
        File.WriteAllText(
            dir.File("captions.jsonl"),
            "{\"image\":\"images/a.png\",\"captions\":[\"kept as it was\"]}\n"
        );
        var journal = new CaptionJournal(dir.File("captions.jsonl"));
        journal.Save(dir.File("images/b.png"), "  a river between fields ");
        var all = journal.Save(dir.File("images/b.png"), "a bridge over a river");
        Assert.Equal(["a river between fields", "a bridge over a river"], all);
        journal.Save(dir.File("images/a.png"), "a second caption for a");

        var samples = CaptionDatasetReader.Read(
            dir.File("captions.jsonl"),
            new CaptionDatasetOptions(),
            new BadInputReport(BadInputPolicy.FailFast)
        );
        Assert.Equal(2, samples.Count);
        Assert.Equal(
            ["kept as it was", "a second caption for a"],
            samples.Single(s => s.ImagePath.EndsWith("a.png")).Captions
        );
        Assert.Equal(
            ["a river between fields", "a bridge over a river"],
            samples.Single(s => s.ImagePath.EndsWith("b.png")).Captions
        );
        Assert.Equal(2, journal.CaptionedImages().Count);
        Assert.Contains(Path.GetFullPath(dir.File("images/b.png")), journal.CaptionedImages());
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp*"));
        Assert.Contains("\"image\":\"images/b.png\"", File.ReadAllText(dir.File("captions.jsonl")));
    }

    [Fact]
    public void AnImageOutsideTheFilesFolderIsWrittenWithItsFullPath()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("out"));
        var image = TestImages.Png(dir.File("a.png"));
        new CaptionJournal(dir.File("out/new.jsonl")).Save(image, "outside");
        var sample = CaptionDatasetReader
            .Read(dir.File("out/new.jsonl"), new CaptionDatasetOptions(), new BadInputReport(BadInputPolicy.FailFast))
            .Single();
        Assert.Equal(Path.GetFullPath(image), Path.GetFullPath(sample.ImagePath));
        Assert.Contains(Path.GetFullPath(image), File.ReadAllText(dir.File("out/new.jsonl")).Replace("\\/", "/"));
    }

    [Fact]
    public void RefusesAnEmptyCaptionAndNamesABrokenLine()
    {
        using var dir = new TempDir();
        var journal = new CaptionJournal(dir.File("new.jsonl"));
        Assert.Throws<ArgumentException>(() => journal.Save(dir.File("x.png"), "   "));
        Assert.False(File.Exists(dir.File("new.jsonl")));
        File.WriteAllText(dir.File("new.jsonl"), "{\"image\":\"x.png\",\"captions\":[\"ok\"]}\nnot json\n");
        var e = Assert.Throws<InvalidDataException>(() => journal.Save(dir.File("x.png"), "more"));
        Assert.Contains("new.jsonl:2", e.Message);
        Assert.EndsWith("not json\n", File.ReadAllText(dir.File("new.jsonl")));
    }
}
