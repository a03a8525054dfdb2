using SemiClip.Data;
using SemiClip.Tests.Support;
using SemiClip.Tokenization;
using SkiaSharp;

namespace SemiClip.Tests.Data;

public class TrainingDataLoaderTests
{
    static (TempDir, List<CaptionSample>, List<string>) Dataset(int paired, int unpaired)
    {
        var dir = new TempDir();
        var rng = new Random(1);
        var p = Enumerable
            .Range(0, paired)
            .Select(i => new CaptionSample(
                TestImages.Png(
                    dir.File($"p{i}.png"),
                    20,
                    12,
                    new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256))
                ),
                new[] { $"caption {i} a", $"caption {i} b" },
                $"mem:{i}"
            ))
            .ToList();
        var u = Enumerable
            .Range(0, unpaired)
            .Select(i => TestImages.Png(dir.File($"u{i}.png"), 16, 16, new SKColor((byte)(i * 20), 0, 0)))
            .ToList();
        return (dir, p, u);
    }

    static TrainingDataLoader Loader(
        List<CaptionSample> p,
        List<string> u,
        int workers,
        BadInputReport? report = null,
        int seed = 7
    ) =>
        new(
            p,
            u,
            ClipTokenizer.OpenAi(),
            16,
            16,
            new KeywordLabeler(new[] { "caption", "b" }),
            new LoaderOptions
            {
                BatchSize = 4,
                Workers = workers,
                Seed = seed,
                HorizontalFlip = true,
            },
            report ?? new BadInputReport(BadInputPolicy.FailFast)
        );

    [Fact]
    public void BatchesHaveTheRightShapesAndKeywordLabels()
    {
        var (dir, p, u) = Dataset(10, 6);
        using var _ = dir;
        using var loader = Loader(p, u, 2);
        var batch = loader.Batches(new LoaderPosition(0, 0), 1).Single();
        Assert.Equal(new long[] { 4, 3, 16, 16 }, batch.Images.shape);
        Assert.Equal(new long[] { 4, 16 }, batch.Tokens.shape);
        Assert.Equal(new long[] { 4, 3, 16, 16 }, batch.Unpaired!.shape);
        Assert.Equal(new long[] { 4, 2 }, batch.KeywordLabels!.shape);
        Assert.Equal(1f, batch.KeywordLabels[0, 0].item<float>()); // every caption contains "caption"
        Assert.Equal(2, loader.BatchesPerEpoch);
    }

    [Fact]
    public void EachBatchCarriesThePositionThatFollowsIt()
    {
        var (dir, p, u) = Dataset(12, 5);
        using var _ = dir;
        using var loader = Loader(p, u, 2); // 3 batches per epoch
        var positions = loader
            .Batches(new LoaderPosition(0, 2), 4)
            .Select(b =>
            {
                using (b)
                    return (b.Position, b.Next);
            })
            .ToList();
        Assert.Equal(new LoaderPosition(0, 2), positions[0].Position);
        Assert.Equal(new LoaderPosition(1, 0), positions[0].Next); // the epoch rolls over
        for (int i = 0; i + 1 < positions.Count; i++)
            Assert.Equal(positions[i + 1].Position, positions[i].Next);
        Assert.Equal(new LoaderPosition(2, 0), positions[^1].Next);
    }

    [Fact]
    public void SameSeedSameBatchesWhateverTheWorkerCountAndStartingPoint()
    {
        var (dir, p, u) = Dataset(12, 5);
        using var _ = dir;
        using var one = Loader(p, u, 1);
        using var two = Loader(p, u, 2);
        var straight = one.Batches(new LoaderPosition(0, 0), 7)
            .Select(b =>
                (b.Images.data<float>().ToArray(), b.Tokens.data<long>().ToArray(), b.Unpaired!.data<float>().ToArray())
            )
            .ToList();
        // Resume at epoch 1, batch 1 (global step 4): must replay steps 4..6 exactly.
        var resumed = two.Batches(new LoaderPosition(1, 1), 3)
            .Select(b =>
                (b.Images.data<float>().ToArray(), b.Tokens.data<long>().ToArray(), b.Unpaired!.data<float>().ToArray())
            )
            .ToList();
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(straight[4 + i].Item1, resumed[i].Item1);
            Assert.Equal(straight[4 + i].Item2, resumed[i].Item2);
            Assert.Equal(straight[4 + i].Item3, resumed[i].Item3);
        }
        using var other = Loader(p, u, 2, seed: 8);
        Assert.NotEqual(
            straight[0].Item1,
            other.Batches(new LoaderPosition(0, 0), 1).Single().Images.data<float>().ToArray()
        );
    }

    [Fact]
    public void UndecodableImageFailsFastOrIsSkippedAndListed()
    {
        var (dir, p, u) = Dataset(8, 0);
        using var _ = dir;
        File.WriteAllText(p[3].ImagePath, "garbage");
        using (var failing = Loader(p, u, 2))
        {
            var e = Assert.ThrowsAny<Exception>(() => failing.Batches(new LoaderPosition(0, 0), 2).ToList());
            Assert.Contains("p3.png", (e as AggregateException)?.Flatten().InnerExceptions[0].Message ?? e.Message);
        }
        var report = new BadInputReport(BadInputPolicy.Skip);
        using var skipping = Loader(p, u, 2, report);
        Assert.Equal(2, skipping.Batches(new LoaderPosition(0, 0), 2).Count());
        Assert.Contains("p3.png", Assert.Single(report.Items).Location);
    }
}
