using System.Text.RegularExpressions;
using SemiClip.Data;
using SemiClip.Data.Shards;
using SemiClip.Tests.Support;
using SemiClip.Tokenization;
using SkiaSharp;
using static TorchSharp.torch;

namespace SemiClip.Tests.Data.Shards;

public class ShardedTrainingLoaderTests
{
    /// <summary><paramref name="captioned"/> images captioned "photo number i" and <paramref name="bare"/> without
    /// captions, each a different colour, in shards of 5.</summary>
    static string Shards(TempDir dir, int captioned, int bare, params int[] broken)
    {
        Directory.CreateDirectory(dir.File("img"));
        File.WriteAllText(dir.File("img/broken.png"), "not a png");
        using var writer = new WebDatasetWriter(dir.File("shards"), "s-", samplesPerShard: 5);
        var rng = new Random(2);
        for (int i = 0; i < captioned + bare; i++)
        {
            var image = broken.Contains(i)
                ? dir.File("img/broken.png")
                : TestImages.Png(
                    dir.File($"img/{i}.png"),
                    20,
                    14,
                    new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256))
                );
            writer.Add(image, i < captioned ? [$"photo number {i}", $"picture number {i}"] : [], null);
        }
        writer.Dispose();
        return writer.Pattern;
    }

    static ShardedTrainingLoader Loader(
        string pattern,
        double ratio,
        bool unpaired,
        BadInputReport? report = null,
        int buffer = 8
    ) =>
        new(
            new ShardSources(ShardPattern.ExpandExisting(pattern), [], ratio, SplitSeed: 3),
            unpaired,
            ClipTokenizer.OpenAi(),
            16,
            16,
            new KeywordLabeler(["photo", "picture"]),
            new LoaderOptions
            {
                BatchSize = 4,
                UnpairedBatchSize = 3,
                Workers = 2,
                Seed = 11,
                ShuffleBuffer = buffer,
                HorizontalFlip = true,
            },
            report ?? new BadInputReport(BadInputPolicy.FailFast)
        );

    static List<int> CaptionNumbers(TrainBatch batch)
    {
        var tokenizer = ClipTokenizer.OpenAi();
        var numbers = new List<int>();
        int context = (int)batch.Tokens.shape[1];
        var all = batch.Tokens.data<long>().ToArray();
        for (int i = 0; i < batch.Tokens.shape[0]; i++)
        {
            var text = tokenizer.Decode(all.Skip(i * context).Take(context).Select(t => (int)t).Where(t => t > 0));
            // CLIP splits digits: "1 7"
            numbers.Add(int.Parse(Regex.Match(text.Replace(" ", ""), @"number(\d+)").Groups[1].Value));
        }
        return numbers;
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void EachEpochVisitsEveryPairedSampleOnceInANewOrderWithBatchesShapedForTheModel()
    {
        using var dir = new TempDir();
        using var loader = Loader(Shards(dir, captioned: 24, bare: 0), ratio: 1, unpaired: false);
        Assert.Equal(24, loader.PairedCount);
        Assert.Equal(6, loader.BatchesPerEpoch);
        var batches = loader.Batches(new LoaderPosition(0, 0), 12).ToList();
        Assert.Equal(new long[] { 4, 3, 16, 16 }, batches[0].Images.shape);
        Assert.Equal(new long[] { 4, 2 }, batches[0].KeywordLabels!.shape);
        var epoch0 = batches.Take(6).SelectMany(CaptionNumbers).ToList();
        var epoch1 = batches.Skip(6).SelectMany(CaptionNumbers).ToList();
        Assert.Equal(Enumerable.Range(0, 24), epoch0.Order());
        Assert.Equal(Enumerable.Range(0, 24), epoch1.Order());
        Assert.NotEqual(epoch0, epoch1);
        Assert.NotEqual(Enumerable.Range(0, 24), epoch0);
        Assert.Equal(new LoaderPosition(1, 0), batches[5].Next);
        foreach (var b in batches)
            b.Dispose();
    }

    [Fact]
    public void StartingAtASavedPositionGivesExactlyTheBatchesOfAnUninterruptedStreamEvenPastUnreadableSamples()
    {
        using var dir = new TempDir();
        var report = new BadInputReport(BadInputPolicy.Skip);
        using var loader = Loader(
            Shards(dir, captioned: 20, bare: 7, broken: [3, 11, 22]),
            ratio: 0.6,
            unpaired: true,
            report
        );
        Assert.Equal(27, loader.PairedCount + loader.UnpairedCount);
        Assert.InRange(loader.PairedCount, 6, 19); // about 60% of the 20 captioned; the 7 bare are always unpaired
        var straight = loader.Batches(new LoaderPosition(0, 0), 2 * loader.BatchesPerEpoch + 2).ToList();
        int skipped = loader.BatchesPerEpoch + 1;
        var resumeAt = straight[skipped - 1].Next; // what a checkpoint after that step saves
        Assert.Equal((1, 1), (resumeAt.Epoch, resumeAt.Batch));
        var resumed = loader.Batches(resumeAt, straight.Count - skipped).ToList();
        Assert.Equal(straight.Count - skipped, resumed.Count);
        for (int i = 0; i < resumed.Count; i++)
        {
            var (a, b) = (straight[skipped + i], resumed[i]);
            Assert.Equal(a.Position, b.Position);
            Assert.True(Same(a.Images, b.Images), $"images differ at batch {i}");
            Assert.True(Same(a.Tokens, b.Tokens), $"tokens differ at batch {i}");
            Assert.True(Same(a.Unpaired!, b.Unpaired!), $"unpaired images differ at batch {i}");
        }
        Assert.True(
            straight[^1].Next.PairedSkipped + straight[^1].Next.UnpairedSkipped > 0,
            "no unreadable sample was met"
        );
        Assert.Contains(report.Items, b => b.Location.EndsWith(":000000022", StringComparison.Ordinal));
        foreach (var b in straight.Concat(resumed))
            b.Dispose();
    }

    [Fact]
    public void AnUnreadableImageIsNamedOrUnderSkipBadReplacedByTheNextSample()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("img"));
        File.WriteAllText(dir.File("img/broken.png"), "not a png");
        using (var writer = new WebDatasetWriter(dir.File("shards"), "s-", 100))
        {
            for (int i = 0; i < 6; i++)
                writer.Add(
                    i == 2 ? dir.File("img/broken.png") : TestImages.Png(dir.File($"img/{i}.png")),
                    [$"photo number {i}"],
                    null
                );
        }
        var pattern = dir.File("shards/s-000000.tar");
        using (var strict = Loader(pattern, 1, false, buffer: 1))
        {
            var e = Assert.Throws<BadInputException>(() => strict.Batches(new LoaderPosition(0, 0), 1).ToList());
            Assert.Contains($"{pattern}:000000002", e.Message);
        }
        var report = new BadInputReport(BadInputPolicy.Skip);
        using var lenient = Loader(pattern, 1, false, report, buffer: 1);
        using var batch = lenient.Batches(new LoaderPosition(0, 0), 1).Single();
        Assert.Equal([0, 1, 4, 3], CaptionNumbers(batch)); // capacity 1 keeps the order; sample 4 takes broken 2's slot
        Assert.Contains(report.Items, b => b.Location == $"{pattern}:000000002");
    }
}
