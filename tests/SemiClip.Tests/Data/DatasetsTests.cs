using SemiClip.Data;
using SemiClip.Tests.Support;

namespace SemiClip.Tests.Data;

public class DatasetsTests
{
    [Fact]
    public void ClassFoldersCsvAndTxtClassesGiveTheSameLabels()
    {
        using var dir = new TempDir();
        TestImages.Png(dir.File("tree/parking_lot/1.png"));
        TestImages.Png(dir.File("tree/parking_lot/2.png"));
        TestImages.Png(dir.File("tree/river/3.tif".Replace(".tif", ".png")));
        var report = new BadInputReport(BadInputPolicy.FailFast);
        var folders = ClassificationDataset.Load(dir.File("tree"), report);
        Assert.Equal(new[] { "parking lot", "river" }, folders.ClassNames);
        Assert.Equal(new[] { 0, 0, 1 }, folders.Items.Select(i => i.Label));

        File.WriteAllText(
            dir.File("labels.csv"),
            "path,label\ntree/parking_lot/1.png,parking_lot\ntree/river/3.png,river\n"
        );
        var csv = ClassificationDataset.Load(dir.File("labels.csv"), report);
        Assert.Equal(new[] { "parking lot", "river" }, csv.ClassNames);

        Directory.CreateDirectory(dir.File("txtclasses"));
        File.WriteAllText(dir.File("txtclasses/parking_lot.txt"), "1.png\n2.png\n");
        File.WriteAllText(dir.File("txtclasses/river.txt"), "3.png\n");
        Directory.CreateDirectory(dir.File("flat"));
        foreach (var f in new[] { "parking_lot/1.png", "parking_lot/2.png", "river/3.png" })
            File.Copy(dir.File("tree/" + f), dir.File("flat/" + Path.GetFileName(f)));
        var txt = ClassificationDataset.Load(dir.File("txtclasses"), report, imageRoot: dir.File("flat"));
        Assert.Equal(new[] { 0, 0, 1 }, txt.Items.Select(i => i.Label));

        File.WriteAllText(dir.File("names.txt"), "parking_lot: a car park\n");
        var renamed = ClassificationDataset.Load(dir.File("tree"), report, classNamesFile: dir.File("names.txt"));
        Assert.Equal(new[] { "a car park", "river" }, renamed.ClassNames);

        File.WriteAllText(dir.File("bad.csv"), "tree/river/3.png\n");
        Assert.Contains(
            "bad.csv:1",
            Assert.Throws<BadInputException>(() => ClassificationDataset.Load(dir.File("bad.csv"), report)).Message
        );
    }

    [Fact]
    public void UnpairedFromFolderTreeOrListFile()
    {
        using var dir = new TempDir();
        TestImages.Png(dir.File("u/a.png"));
        TestImages.Png(dir.File("u/deep/b.png"));
        File.WriteAllText(dir.File("u/readme.txt"), "not an image");
        var report = new BadInputReport(BadInputPolicy.Skip);
        Assert.Equal(2, ImageFiles.FromFolderOrList(dir.File("u"), report).Count);
        File.WriteAllText(dir.File("list.txt"), "u/a.png\n# comment\nu/missing.png\n");
        Assert.Single(ImageFiles.FromFolderOrList(dir.File("list.txt"), report));
        Assert.Contains("list.txt:3", Assert.Single(report.Items).Location);
    }

    [Fact]
    public void LabelRatioSplitIsDeterministicAndComplete()
    {
        var samples = Enumerable
            .Range(0, 50)
            .Select(i => new CaptionSample($"/x/{i}.png", new[] { "c" }, $"f:{i}"))
            .ToList();
        var a = PairedUnpairedSplit.Create(samples, 0.1, 3);
        var b = PairedUnpairedSplit.Create(samples, 0.1, 3);
        var c = PairedUnpairedSplit.Create(samples, 0.1, 4);
        Assert.Equal(5, a.Paired.Count);
        Assert.Equal(45, a.Unpaired.Count);
        Assert.Equal(a.Paired.Select(s => s.ImagePath), b.Paired.Select(s => s.ImagePath));
        Assert.NotEqual(a.Paired.Select(s => s.ImagePath), c.Paired.Select(s => s.ImagePath));
        Assert.Equal(50, a.Paired.Select(s => s.ImagePath).Concat(a.Unpaired).Distinct().Count());
    }

    [Fact]
    public void KeywordsMatchWholeWordsCaseInsensitivelyIncludingPhrases()
    {
        var k = new KeywordLabeler(new[] { "river", "parking lot", "car", "Bridge" });
        Assert.Equal(new float[] { 1, 0, 0, 1 }, k.Label("A RIVER under a bridge."));
        Assert.Equal(new float[] { 0, 1, 1, 0 }, k.Label("a parking lot with one car"));
        Assert.Equal(new float[] { 0, 0, 0, 0 }, k.Label("many cars near riverside parking"));
    }
}
