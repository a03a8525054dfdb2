using System.Text;
using SemiClip.Data.Images;
using SemiClip.Tokenization;

namespace SemiClip.Data.Shards;

/// <summary>Which samples of which shards a <see cref="ShardedTrainingLoader"/> trains on. A sample with a
/// caption is paired when a hash of (split seed, key) falls below <c>LabelRatio</c> (so the split needs no
/// index and the paired share is about, not exactly, the ratio); the other samples of <c>Shards</c>, those
/// without a caption, and every sample of <c>UnpairedShards</c> are unpaired images.</summary>
public sealed record ShardSources(
    IReadOnlyList<string> Shards,
    IReadOnlyList<string> UnpairedShards,
    double LabelRatio,
    int SplitSeed
)
{
    public bool IsPaired(ShardSample s) => s.HasCaption && (LabelRatio >= 1 || Uniform(SplitSeed, s.Key) < LabelRatio);

    static double Uniform(int seed, string key)
    {
        ulong h = 14695981039346656037UL; // FNV-1a: stable across processes, unlike string.GetHashCode
        foreach (var b in Encoding.UTF8.GetBytes(key))
            h = (h ^ b) * 1099511628211UL;
        return DeterministicRandom.For(seed, (long)(h >> 1), 0, RandomStream.ShardPairing).NextDouble();
    }
}

/// <summary>The training stream over webdataset shards, for datasets larger than memory. Each epoch visits
/// the shards in a seeded order, reads their headers in sequence and passes sample handles (not bytes)
/// through a bounded shuffle buffer; each step then reads and decodes just its batch's members. Memory is
/// the buffer's handles plus a few batches, whatever the dataset's size. Order, captions and augmentation
/// derive from (seed, epoch, position) alone, so a run resumed at a saved position replays the headers up to
/// it (no image is decoded) and continues with exactly the batches an uninterrupted run would have seen.</summary>
public sealed class ShardedTrainingLoader : ITrainingLoader
{
    readonly ShardSources _sources;
    readonly ITextTokenizer _tokenizer;
    readonly int _contextLength;
    readonly ImagePreprocessor _preprocess;
    readonly KeywordLabeler? _keywords;
    readonly BadInputReport _report;
    readonly bool _usesUnpaired;

    public LoaderOptions Options { get; }
    public long PairedCount { get; }
    public long UnpairedCount { get; }
    public int BatchesPerEpoch => (int)(PairedCount / Options.BatchSize);
    public int UnpairedPerStep => _usesUnpaired ? Options.UnpairedBatchSize ?? Options.BatchSize : 0;
    int KeywordCount => _keywords?.Keywords.Count ?? 0;

    /// <summary>Counts the paired and unpaired samples (one pass over the shard headers).</summary>
    public ShardedTrainingLoader(
        ShardSources sources,
        bool usesUnpaired,
        ITextTokenizer tokenizer,
        int contextLength,
        int imageSize,
        KeywordLabeler? keywords,
        LoaderOptions options,
        BadInputReport report
    )
    {
        (_sources, _usesUnpaired, _tokenizer, _contextLength, _keywords, Options, _report) = (
            sources,
            usesUnpaired,
            tokenizer,
            contextLength,
            keywords,
            options,
            report
        );
        _preprocess = new ImagePreprocessor(imageSize, options.Preprocessing)
        {
            HorizontalFlip = options.HorizontalFlip,
            Augment = options.Augmentation,
        };
        foreach (var source in AllShards())
            foreach (var s in WebDatasetShard.Samples(source.Shard, report))
                if (IsPaired(source, s))
                    PairedCount++;
                else
                    UnpairedCount++;
        if (PairedCount < options.BatchSize)
            throw new ArgumentException(
                $"{string.Join(", ", sources.Shards.Take(3))}…: only {PairedCount} paired samples for a batch of "
                    + $"{options.BatchSize}."
            );
        if (usesUnpaired && UnpairedCount < UnpairedPerStep)
            throw new SettingsException(
                new SettingProblem(
                    "label_ratio",
                    $"{string.Join(", ", sources.Shards.Take(3))}…: only {UnpairedCount} unpaired images for an "
                        + $"unpaired batch of {UnpairedPerStep} (set label_ratio below 1, or unpaired)"
                )
            );
    }

    IEnumerable<(string Shard, bool OnlyUnpaired)> AllShards() =>
        _sources.Shards.Select(s => (s, false)).Concat(_sources.UnpairedShards.Select(s => (s, true)));

    /// <summary>Which stream a sample belongs to; the one rule the count and both streams share.</summary>
    bool IsPaired((string Shard, bool OnlyUnpaired) source, ShardSample sample) =>
        !source.OnlyUnpaired && _sources.IsPaired(sample);

    /// <summary>One epoch of one stream (paired or unpaired) as (handle, position in the epoch).</summary>
    IEnumerable<(ShardSample Sample, long Index)> Epoch(bool paired, int epoch)
    {
        var shards = AllShards().ToList();
        var (orderStream, shuffleStream) = paired
            ? (RandomStream.ShardPairedOrder, RandomStream.ShardPairedShuffle)
            : (RandomStream.ShardUnpairedOrder, RandomStream.ShardUnpairedShuffle);
        var order = DeterministicRandom.Permutation(shards.Count, Options.Seed, epoch, orderStream);
        var samples = order.SelectMany(i =>
            WebDatasetShard.Samples(shards[i].Shard, _report).Where(s => IsPaired(shards[i], s) == paired)
        );
        long index = 0;
        foreach (
            var s in ShuffleBuffer.Shuffle(
                samples,
                Options.ShuffleBuffer,
                DeterministicRandom.For(Options.Seed, epoch, 0, shuffleStream)
            )
        )
            yield return (s, index++);
    }

    /// <summary>Unpaired images from overall position <paramref name="cursor"/> on, epoch after epoch.</summary>
    IEnumerable<(ShardSample Sample, int Epoch, long Index)> UnpairedFrom(long cursor)
    {
        for (int e = (int)(cursor / UnpairedCount); ; e++)
        {
            long skip = Math.Max(0, cursor - e * UnpairedCount);
            foreach (var (s, i) in Epoch(paired: false, e).Skip((int)skip))
                yield return (s, e, i);
        }
    }

    /// <summary>Where the streams stand between batches; advanced only by the (single) batch builder.</summary>
    sealed class Cursor : IDisposable
    {
        public required LoaderPosition Position;
        public required IEnumerator<(ShardSample, int, long)> Paired;
        public IEnumerator<(ShardSample, int, long)>? Unpaired;

        public void Dispose()
        {
            Paired.Dispose();
            Unpaired?.Dispose();
        }
    }

    IEnumerator<(ShardSample, int, long)> PairedEpoch(int epoch, long skip) =>
        Epoch(paired: true, epoch).Skip((int)skip).Select(x => (x.Sample, epoch, x.Index)).GetEnumerator();

    public IEnumerable<TrainBatch> Batches(LoaderPosition start, long steps)
    {
        long first = (long)start.Epoch * BatchesPerEpoch + start.Batch;
        using var cursor = new Cursor
        {
            Position = start,
            Paired = PairedEpoch(start.Epoch, (long)start.Batch * Options.BatchSize + start.PairedSkipped),
            Unpaired = _usesUnpaired
                ? UnpairedFrom(first * UnpairedPerStep + start.UnpairedSkipped).GetEnumerator()
                : null,
        };
        foreach (
            var batch in BatchAssembly.Stream(
                first,
                steps,
                _ => Build(cursor),
                Options.Prefetch,
                _preprocess.ImageSize,
                _contextLength,
                KeywordCount
            )
        )
            yield return batch;
    }

    HostBatch Build(Cursor cursor)
    {
        var position = cursor.Position;
        int b = Options.BatchSize,
            floats = _preprocess.FloatsPerImage;
        var images = TrainBatch.ImageBuffers.Rent(b * floats);
        var captions = new string[b];
        long pairedExtra = Fill(cursor.Paired, images, b, (i, sample, rng) =>
        {
            var all = WebDatasetShard.Captions(sample);
            captions[i] = all[rng.Next(all.Count)];
        });
        var (tokens, keywords) = BatchAssembly.EncodeCaptions(captions, _tokenizer, _contextLength, _keywords);
        float[]? unpairedImages = null;
        long unpairedExtra = 0;
        if (cursor.Unpaired is not null)
        {
            unpairedImages = TrainBatch.ImageBuffers.Rent(UnpairedPerStep * floats);
            unpairedExtra = Fill(cursor.Unpaired, unpairedImages, UnpairedPerStep, null);
        }
        var next =
            position.Batch + 1 < BatchesPerEpoch
                ? position with
                {
                    Batch = position.Batch + 1,
                    PairedSkipped = position.PairedSkipped + pairedExtra,
                }
                : new LoaderPosition(position.Epoch + 1, 0);
        next = next with { UnpairedSkipped = position.UnpairedSkipped + unpairedExtra };
        if (next.Epoch != position.Epoch)
        {
            cursor.Paired.Dispose();
            // the epoch's last partial batch is dropped, as the file loader does
            cursor.Paired = PairedEpoch(next.Epoch, 0);
        }
        cursor.Position = next;
        return new HostBatch
        {
            Position = position,
            Next = next,
            Images = images,
            Tokens = tokens,
            KeywordLabels = keywords,
            Unpaired = unpairedImages,
            Count = b,
            UnpairedCount = cursor.Unpaired is null ? 0 : UnpairedPerStep,
            Captions = captions,
        };
    }

    /// <summary>Decodes the next <paramref name="count"/> samples into <paramref name="destination"/> in parallel.
    /// Under skip_bad a sample whose image or caption cannot be read is reported and the stream's next sample
    /// takes its place, so a batch is always full and the same for the same data. Returns how many extra samples
    /// were drawn (recorded in the position, so a resumed stream skips them too).</summary>
    long Fill(
        IEnumerator<(ShardSample Sample, int Epoch, long Index)> stream,
        float[] destination,
        int count,
        Action<int, ShardSample, Random>? withSample
    )
    {
        var open = Enumerable.Range(0, count).ToList();
        long extra = -count;
        while (open.Count > 0)
        {
            extra += open.Count;
            var work = open.Select(slot => (Slot: slot, Item: Next(stream))).ToList();
            var failed = new System.Collections.Concurrent.ConcurrentBag<int>();
            try
            {
                Decode(work, failed, destination, withSample);
            }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0)
            {
                throw e.InnerExceptions[0]; // fail-fast: the bad input's own message, not "one or more errors"
            }
            open = failed.Order().ToList();
        }
        return extra;
    }

    void Decode(
        List<(int Slot, (ShardSample Sample, int Epoch, long Index) Item)> work,
        System.Collections.Concurrent.ConcurrentBag<int> failed,
        float[] destination,
        Action<int, ShardSample, Random>? withSample
    )
    {
        int floats = _preprocess.FloatsPerImage;
        Parallel.ForEach(work, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Options.Workers) }, w =>
        {
            var (sample, epoch, index) = w.Item;
            var rng = DeterministicRandom.For(
                Options.Seed,
                epoch,
                index,
                withSample is null ? RandomStream.UnpairedSample : RandomStream.PairedSample
            );
            try
            {
                withSample?.Invoke(w.Slot, sample, rng);
                var bytes = WebDatasetShard.ReadMember(sample.Shard, sample.Image);
                using var bitmap = ImageDecoder.Decode(bytes, $"{sample.Location}.{sample.Image.Extension}");
                _preprocess.Train(bitmap, rng, destination.AsSpan(w.Slot * floats, floats));
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                _report.Report(sample.Location, e.Message);
                failed.Add(w.Slot);
            }
        });
    }

    static (ShardSample, int, long) Next(IEnumerator<(ShardSample, int, long)> stream) =>
        stream.MoveNext()
            ? stream.Current
            : throw new InvalidDataException(
                "the shard stream ran out of samples for this epoch: too many unreadable ones."
            );

    public void Dispose() { }
}
