using System.Formats.Tar;
using System.Text;
using SemiClip.Data;
using SemiClip.Data.Images;
using SemiClip.Data.Shards;
using SemiClip.Tests.Support;
using SkiaSharp;

namespace SemiClip.Tests.Data.Shards;

public class WebDatasetShardTests
{
    static BadInputReport Strict => new(BadInputPolicy.FailFast);

    [Fact]
    public void WrittenShardsReadBackWithTheirImagesCaptionsAndLabelsSplitAtTheLimit()
    {
        using var dir = new TempDir();
        var png = TestImages.Png(dir.File("a.png"), 12, 10, SKColors.Red);
        var jpg = TestImages.Encode(
            dir.File("b.jpg"),
            TestImages.Halves(9, 7, SKColors.Blue, SKColors.Green),
            SKEncodedImageFormat.Jpeg
        );
        string pattern;
        using (var writer = new WebDatasetWriter(dir.File("shards"), "train-", samplesPerShard: 2))
        {
            writer.Add(png, ["a red square.", "something red."], "Red");
            writer.Add(jpg, ["blue and green halves."], null);
            writer.Add(png, [], null); // an unpaired image
            writer.Dispose();
            pattern = writer.Pattern;
            Assert.Equal(2, writer.ShardCount);
        }
        Assert.Equal(dir.File("shards/train-{000000..000001}.tar"), pattern);
        Assert.Empty(Directory.GetFiles(dir.File("shards"), "*.tmp"));
        var samples = ShardPattern.ExpandExisting(pattern).SelectMany(s => WebDatasetShard.Samples(s, Strict)).ToList();
        Assert.Equal(["000000000", "000000001", "000000002"], samples.Select(s => s.Key));
        Assert.Equal(File.ReadAllBytes(png), WebDatasetShard.ReadMember(samples[0].Shard, samples[0].Image));
        Assert.Equal(File.ReadAllBytes(jpg), WebDatasetShard.ReadMember(samples[1].Shard, samples[1].Image));
        Assert.Equal("jpg", samples[1].Image.Extension);
        Assert.Equal(["a red square.", "something red."], WebDatasetShard.Captions(samples[0]));
        Assert.Equal(["blue and green halves."], WebDatasetShard.Captions(samples[1]));
        Assert.True(samples[0].HasCaption);
        using var decoded = ImageDecoder.Decode(
            WebDatasetShard.ReadMember(samples[1].Shard, samples[1].Image),
            samples[1].Location
        );
        Assert.Equal((9, 7), (decoded.Width, decoded.Height));
        Assert.False(samples[2].HasCaption);
        Assert.Throws<InvalidDataException>(() => WebDatasetShard.Captions(samples[2]));
    }

    [Fact]
    public void ForeignShardsWithTxtCaptionsDotsInKeysAndFoldersAreGroupedAsWebdatasetDoes()
    {
        using var dir = new TempDir();
        var image = File.ReadAllBytes(TestImages.Png(dir.File("x.png"), 8, 8));
        var shard = dir.File("foreign.tar");
        using (var tar = new TarWriter(File.Create(shard)))
        {
            void Add(string name, byte[] data) =>
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "part1/"));
            Add("part1/img_7.seg.png", image);
            Add("part1/img_7.seg.txt", Encoding.UTF8.GetBytes("  a field with a road \n"));
            Add("part1/img_8.PNG", image);
            Add("part1/img_8.cls", Encoding.UTF8.GetBytes("3"));
        }
        var samples = WebDatasetShard.Samples(shard, Strict).ToList();
        Assert.Equal(["part1/img_7", "part1/img_8"], samples.Select(s => s.Key));
        Assert.Equal("seg.png", samples[0].Image.Extension);
        Assert.Equal("png", samples[1].Image.Extension);
        Assert.Equal(["a field with a road"], WebDatasetShard.Captions(samples[0]));
        Assert.False(samples[1].HasCaption);
        Assert.Equal(("part1/img_7", "seg.png"), WebDatasetShard.Split("part1/img_7.seg.png"));
    }

    [Fact]
    public void BadShardsAreNamedBySampleOrRefused()
    {
        using var dir = new TempDir();
        var shard = dir.File("bad.tar");
        using (var tar = new TarWriter(File.Create(shard)))
        {
            tar.WriteEntry(
                new PaxTarEntry(TarEntryType.RegularFile, "k1.txt")
                {
                    DataStream = new MemoryStream("no image"u8.ToArray()),
                }
            );
            tar.WriteEntry(
                new PaxTarEntry(TarEntryType.RegularFile, "k2.png")
                {
                    DataStream = new MemoryStream(File.ReadAllBytes(TestImages.Png(dir.File("p.png")))),
                }
            );
        }
        var e = Assert.Throws<BadInputException>(() => WebDatasetShard.Samples(shard, Strict).ToList());
        Assert.Contains($"{shard}:k1", e.Message);
        var lenient = new BadInputReport(BadInputPolicy.Skip);
        Assert.Equal(["k2"], WebDatasetShard.Samples(shard, lenient).Select(s => s.Key));
        Assert.Single(lenient.Items);

        var truncated = dir.File("truncated.tar");
        File.WriteAllBytes(truncated, File.ReadAllBytes(shard)[..700]);
        lenient = new BadInputReport(BadInputPolicy.Skip);
        WebDatasetShard.Samples(truncated, lenient).ToList();
        Assert.Contains(lenient.Items, b => b.Location == truncated);

        var gz = dir.File("c.tar");
        File.WriteAllBytes(gz, [0x1f, 0x8b, 8, 0, 0, 0]);
        Assert.Contains(
            "compressed",
            Assert.Throws<InvalidDataException>(() => WebDatasetShard.Samples(gz, Strict).ToList()).Message
        );
    }
}
