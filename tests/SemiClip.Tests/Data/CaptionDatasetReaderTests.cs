using SemiClip.Data;
using SemiClip.Tests.Support;

namespace SemiClip.Tests.Data;

public class CaptionDatasetReaderTests
{
    static (TempDir Dir, string A, string B) Images()
    {
        var dir = new TempDir();
        return (dir, TestImages.Png(dir.File("img/a.png")), TestImages.Png(dir.File("img/b.png")));
    }

    static List<CaptionSample> Read(
        string path,
        CaptionDatasetOptions? o = null,
        BadInputPolicy policy = BadInputPolicy.FailFast
    ) => CaptionDatasetReader.Read(path, o ?? new CaptionDatasetOptions(), new BadInputReport(policy));

    /// <summary>Every JSON SemiClip reads says where it broke as file:line, once, and in its own words: none of
    /// System.Text.Json's "LineNumber: 0 | BytePositionInLine: 73" or "Path: $".</summary>
    [Fact]
    public void BrokenJsonIsNamedByFileAndLineWithoutTheParsersWords()
    {
        var (dir, _, _) = Images();
        using var _dir = dir;
        void Clean(string message)
        {
            Assert.DoesNotContain("LineNumber", message);
            Assert.DoesNotContain("BytePositionInLine", message);
            Assert.DoesNotContain("Path: $", message);
        }
        File.WriteAllText(dir.File("lines.jsonl"), "{\"image\": \"img/a.png\", \"caption\": \"a\"}\n{\"image\": \n");
        var lines = Assert.Throws<BadInputException>(() => Read(dir.File("lines.jsonl"))).Message;
        Assert.StartsWith(dir.File("lines.jsonl") + ":2: invalid JSON", lines);
        Clean(lines);

        File.WriteAllText(dir.File("karpathy.json"), "{\"images\": [\n  {\"filename\": \n");
        var karpathy = Assert.Throws<InvalidDataException>(() => Read(dir.File("karpathy.json"))).Message;
        Assert.StartsWith(dir.File("karpathy.json") + ":", karpathy);
        Assert.Contains("invalid JSON", karpathy);
        Clean(karpathy);

        File.WriteAllText(dir.File("model.json"), "{\"embed_dim\": 16,\n \"vision_cfg\": }");
        var model = Assert.Throws<InvalidDataException>(() => SemiClip.Model.ClipConfig.Load(dir.File("model.json")));
        Assert.StartsWith(dir.File("model.json") + ":2: invalid model config JSON", model.Message);
        Clean(model.Message);
    }

    [Fact]
    public void CsvWithQuotedCommasGroupsCaptionsPerImage()
    {
        var (dir, a, b) = Images();
        using var _ = dir;
        File.WriteAllText(
            dir.File("train.csv"),
            "filepath,title\nimg/a.png,\"a river, seen from above\"\nimg/b.png,a forest\nimg/a.png,water and trees\n"
        );
        var s = Read(dir.File("train.csv"));
        Assert.Equal(2, s.Count);
        Assert.Equal(a, s[0].ImagePath);
        Assert.Equal(new[] { "a river, seen from above", "water and trees" }, s[0].Captions);
    }

    [Fact]
    public void TsvWithCustomColumns()
    {
        var (dir, a, _) = Images();
        using var _d = dir;
        File.WriteAllText(dir.File("x.tsv"), "caption\tpath\na beach\timg/a.png\n");
        var s = Read(dir.File("x.tsv"), new CaptionDatasetOptions { ImageColumn = "path", CaptionColumn = "caption" });
        Assert.Equal(a, Assert.Single(s).ImagePath);
    }

    [Fact]
    public void JsonLinesWithCaptionsOrCaption()
    {
        var (dir, a, b) = Images();
        using var _ = dir;
        File.WriteAllText(
            dir.File("d.jsonl"),
            "{\"image\": \"img/a.png\", \"captions\": [\"one\", \"two\"]}\n\n{\"image\": \"img/b.png\", \"caption\": "
                + "\"three\"}\n"
        );
        var s = Read(dir.File("d.jsonl"));
        Assert.Equal(new[] { "one", "two" }, s[0].Captions);
        Assert.Equal(new[] { "three" }, s[1].Captions);
        Assert.Equal(b, s[1].ImagePath);
    }

    [Fact]
    public void KarpathyJsonHonoursSplitAndImageRoot()
    {
        var (dir, a, b) = Images();
        using var _ = dir;
        File.WriteAllText(
            dir.File("dataset_rsicd.json"),
            """
            {"images": [
              {"filename": "a.png", "split": "train", "sentences": [{"raw": "a river ."}, {"raw": "water"}]},
              {"filename": "b.png", "split": "test", "sentences": [{"raw": "a forest ."}]}
            ], "dataset": "rsicd"}
            """
        );
        var train = Read(
            dir.File("dataset_rsicd.json"),
            new CaptionDatasetOptions { ImageRoot = dir.File("img"), Split = "train" }
        );
        Assert.Equal(a, Assert.Single(train).ImagePath);
        Assert.Equal(2, train[0].Captions.Count);
        var test = Read(
            dir.File("dataset_rsicd.json"),
            new CaptionDatasetOptions { ImageRoot = dir.File("img"), Split = "test" }
        );
        Assert.Equal("test", Assert.Single(test).Split);
        Assert.Null(test[0].Label);
    }

    [Fact]
    public void ClassLabelsAreReadWhereTheFileRecordsThem()
    {
        var (dir, _, _) = Images();
        using var _d = dir;
        File.WriteAllText(
            dir.File("d.json"),
            """
            {"images": [{"filename": "a.png", "split": "train", "label": "DenseResidential",
                         "sentences": [{"raw": "houses"}]},
                        {"filename": "b.png", "split": "train", "label": "", "sentences": [{"raw": "trees"}]}]}
            """
        );
        var karpathy = Read(
            dir.File("d.json"),
            new CaptionDatasetOptions { ImageRoot = dir.File("img"), Split = "train" }
        );
        Assert.Equal("DenseResidential", karpathy[0].Label);
        Assert.Null(karpathy[1].Label);
        File.WriteAllText(
            dir.File("d.jsonl"),
            "{\"image\": \"img/a.png\", \"caption\": \"x\", \"label\": \"Airport\"}\n{\"image\": \"img/b.png\", "
                + "\"caption\": \"y\"}\n"
        );
        var lines = Read(dir.File("d.jsonl"));
        Assert.Equal("Airport", lines[0].Label);
        Assert.Null(lines[1].Label);
    }

    [Fact]
    public void FailFastNamesFileAndLineForEachBadCase()
    {
        var (dir, _, _) = Images();
        using var _d = dir;
        File.WriteAllText(
            dir.File("missing.jsonl"),
            "{\"image\": \"img/a.png\", \"caption\": \"ok\"}\n{\"image\": \"img/zzz.png\", \"caption\": \"gone\"}\n"
        );
        var e1 = Assert.Throws<BadInputException>(() => Read(dir.File("missing.jsonl")));
        Assert.Contains("missing.jsonl:2", e1.Message);
        Assert.Contains("zzz.png", e1.Message);

        File.WriteAllText(dir.File("empty.jsonl"), "{\"image\": \"img/a.png\", \"caption\": \"  \"}\n");
        Assert.Contains(
            "empty.jsonl:1: no caption left: its 1 caption(s) are empty",
            Assert.Throws<BadInputException>(() => Read(dir.File("empty.jsonl"))).Message
        );

        File.WriteAllText(
            dir.File("nosplit.json"),
            "{\"images\": [{\"filename\": \"img/a.png\", \"split\": \"train\", "
                + "\"sentences\": [{\"raw\": \"x\"}]}]}"
        );
        var e3 = Assert.Throws<InvalidDataException>(() =>
            Read(dir.File("nosplit.json"), new CaptionDatasetOptions { Split = "test" })
        );
        Assert.Contains("no images in split 'test' (splits present: train)", e3.Message);

        File.WriteAllText(
            dir.File("syntax.jsonl"),
            "{\"image\": \"img/a.png\", \"caption\": \"ok\"}\n{\"image\": oops}\n"
        );
        Assert.Contains(
            "syntax.jsonl:2: invalid JSON",
            Assert.Throws<BadInputException>(() => Read(dir.File("syntax.jsonl"))).Message
        );

        File.WriteAllText(dir.File("short.csv"), "filepath,title\nimg/a.png,fine\nimg/b.png\n");
        Assert.Contains("short.csv:3", Assert.Throws<BadInputException>(() => Read(dir.File("short.csv"))).Message);

        File.WriteAllText(dir.File("broken.json"), "{\"images\": [ {\"filename\": ");
        Assert.Contains(
            "broken.json",
            Assert.Throws<InvalidDataException>(() => Read(dir.File("broken.json"))).Message
        );

        File.WriteAllText(dir.File("nocol.csv"), "path,text\nimg/a.png,x\n");
        Assert.Contains(
            "no column 'filepath'",
            Assert.Throws<SettingsException>(() => Read(dir.File("nocol.csv"))).Message
        );

        var e2 = Assert.Throws<DirectoryNotFoundException>(() =>
            Read(dir.File("missing.jsonl"), new CaptionDatasetOptions { ImageRoot = dir.File("no-such-root") })
        );
        Assert.Contains("no-such-root", e2.Message);
    }

    [Fact]
    public void SkipBadCountsAndListsInsteadOfStopping()
    {
        var (dir, a, _) = Images();
        using var _d = dir;
        File.WriteAllText(
            dir.File("mixed.jsonl"),
            "{\"image\": \"img/a.png\", \"caption\": \"ok\"}\n{\"image\": \"img/zzz.png\", \"caption\": "
                + "\"gone\"}\nnot json\n{\"image\": \"img/b.png\", \"captions\": [\"\", \"kept\"]}\n"
        );
        var report = new BadInputReport(BadInputPolicy.Skip);
        var stats = new CaptionReadStats();
        var s = CaptionDatasetReader.Read(dir.File("mixed.jsonl"), new CaptionDatasetOptions(), report, stats);
        Assert.Equal(2, s.Count);
        Assert.Equal(new[] { "kept" }, s[1].Captions);
        // The empty caption is dropped and counted, not a bad input: its image keeps its other caption.
        Assert.Equal(2, report.Count);
        Assert.Equal(1, stats.EmptyCaptions);
        Assert.Contains(report.Items, b => b.Location.EndsWith("mixed.jsonl:3"));
    }
}
