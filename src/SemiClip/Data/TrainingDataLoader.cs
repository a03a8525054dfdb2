using SemiClip.Data.Images;
using SemiClip.Tokenization;

namespace SemiClip.Data;

public sealed record LoaderOptions
{
    public int BatchSize { get; init; } = 32;

    /// <summary>Unpaired images per step; S-CLIP draws as many as paired ones by default.</summary>
    public int? UnpairedBatchSize { get; init; }
    public int Workers { get; init; } = Math.Max(1, Environment.ProcessorCount);
    public int Prefetch { get; init; } = 4;
    public int Seed { get; init; } = 0;
    public bool CacheImages { get; init; }

    /// <summary>Bytes the decoded-image cache may hold; past it, images are decoded each time.</summary>
    public long CacheBudgetBytes { get; init; } = ImageCache.BudgetBytes(null);
    public bool HorizontalFlip { get; init; }

    /// <summary>The model's normalisation, interpolation and channel mode (training keeps its random resized
    /// crop).</summary>
    public Images.ImagePreprocessing Preprocessing { get; init; } = new();
    public Images.Augmentation Augmentation { get; init; } = new();

    /// <summary>Samples held by a streamed (sharded) source's bounded shuffle; open_clip's default is 5000.</summary>
    public int ShuffleBuffer { get; init; } = 5000;
}

/// <summary>The training stream: each step a batch of paired images with one caption each (drawn at
/// random per epoch, as the reference does) and, for S-CLIP, a batch of unpaired images. Order,
/// captions and augmentations derive from (seed, position) alone, so starting at a saved
/// <see cref="LoaderPosition"/> replays exactly what an uninterrupted run would have seen.</summary>
public sealed class TrainingDataLoader : ITrainingLoader
{
    readonly IReadOnlyList<CaptionSample> _paired;
    readonly IReadOnlyList<string> _unpaired;
    readonly ITextTokenizer _tokenizer;
    readonly int _contextLength;
    readonly ImagePreprocessor _preprocess;
    readonly KeywordLabeler? _keywords;
    readonly ImageCache _cache;
    readonly BadInputReport _report;
    readonly ClassLabels? _classes;

    public LoaderOptions Options { get; }
    public int BatchesPerEpoch => _paired.Count / Options.BatchSize;
    public int UnpairedPerStep => _unpaired.Count == 0 ? 0 : Options.UnpairedBatchSize ?? Options.BatchSize;
    public int ImageSize => _preprocess.ImageSize;
    public int ContextLength => _contextLength;
    public int KeywordCount => _keywords?.Keywords.Count ?? 0;

    public TrainingDataLoader(
        IReadOnlyList<CaptionSample> paired,
        IReadOnlyList<string> unpaired,
        ITextTokenizer tokenizer,
        int contextLength,
        int imageSize,
        KeywordLabeler? keywords,
        LoaderOptions options,
        BadInputReport report,
        ClassLabels? classes = null
    )
    {
        _classes = classes;
        if (paired.Count < options.BatchSize)
            throw new ArgumentException($"only {paired.Count} paired images for a batch size of {options.BatchSize}.");
        if (unpaired.Count > 0 && unpaired.Count < (options.UnpairedBatchSize ?? options.BatchSize))
            throw new ArgumentException(
                $"only {unpaired.Count} unpaired images for an unpaired batch of "
                    + $"{options.UnpairedBatchSize ?? options.BatchSize}."
            );
        (_paired, _unpaired, _tokenizer, _contextLength, _keywords, Options, _report) = (
            paired,
            unpaired,
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
        _cache = new ImageCache(imageSize, options.CacheImages, options.CacheBudgetBytes);
    }

    /// <summary>Tensor batches from <paramref name="start"/> on, <paramref name="steps"/> of them.</summary>
    public IEnumerable<TrainBatch> Batches(LoaderPosition start, long steps)
    {
        long first = (long)start.Epoch * BatchesPerEpoch + start.Batch;
        return BatchAssembly.Stream(first, steps, BuildHost, Options.Prefetch, ImageSize, _contextLength, KeywordCount);
    }

    /// <summary>Builds global step <paramref name="step"/>'s batch on the host (public for benchmarks).</summary>
    public HostBatch BuildHost(long step)
    {
        int epoch = (int)(step / BatchesPerEpoch),
            batch = (int)(step % BatchesPerEpoch);
        int b = Options.BatchSize,
            floats = _preprocess.FloatsPerImage;
        var order = DeterministicRandom.Permutation(_paired.Count, Options.Seed, epoch, RandomStream.PairedOrder);
        var images = TrainBatch.ImageBuffers.Rent(b * floats); // returned by TrainBatch.FromHost
        var captions = new string[b];
        var keys = new string[b];
        var pairedClasses = _classes is null ? null : new long[b];
        Parallel.For(0, b, new ParallelOptions { MaxDegreeOfParallelism = Options.Workers }, i =>
        {
            int sampleIndex = order[batch * b + i];
            var rng = DeterministicRandom.For(Options.Seed, epoch, sampleIndex, RandomStream.PairedSample);
            sampleIndex = RenderWithFallback(order, batch * b + i, rng, images.AsSpan(i * floats, floats), idx =>
                _paired[idx].ImagePath
            );
            var sample = _paired[sampleIndex];
            var caption = sample.Captions[rng.Next(sample.Captions.Count)];
            captions[i] = caption;
            keys[i] = sample.ImagePath;
            if (pairedClasses != null)
                pairedClasses[i] = _classes!.Of(sample.ImagePath);
        });
        var (tokens, keywords) = BatchAssembly.EncodeCaptions(captions, _tokenizer, _contextLength, _keywords);

        float[]? unpaired = null;
        string[]? unpairedKeys = null;
        long[]? unpairedClasses = null,
            unpairedKeyword = null;
        int u = UnpairedPerStep;
        if (u > 0)
        {
            unpaired = TrainBatch.ImageBuffers.Rent(u * floats);
            unpairedKeys = new string[u];
            if (_classes != null)
            {
                unpairedClasses = new long[u];
                unpairedKeyword = new long[u];
            }
            long cursor = step * u;
            // A step's u ≤ |unpaired| images span at most two passes over the unpaired set; shuffle each once.
            var orders = Enumerable
                .Range(
                    (int)(cursor / _unpaired.Count),
                    (int)((cursor + u - 1) / _unpaired.Count - cursor / _unpaired.Count) + 1
                )
                .ToDictionary(
                    e => e,
                    e => DeterministicRandom.Permutation(_unpaired.Count, Options.Seed, e, RandomStream.UnpairedOrder)
                );
            Parallel.For(0, u, new ParallelOptions { MaxDegreeOfParallelism = Options.Workers }, i =>
            {
                long position = cursor + i;
                int uEpoch = (int)(position / _unpaired.Count),
                    slot = (int)(position % _unpaired.Count);
                var uOrder = orders[uEpoch];
                var rng = DeterministicRandom.For(Options.Seed, uEpoch, uOrder[slot], RandomStream.UnpairedSample);
                int used = RenderWithFallback(uOrder, slot, rng, unpaired.AsSpan(i * floats, floats), idx =>
                    _unpaired[idx]
                );
                unpairedKeys[i] = _unpaired[used];
                if (unpairedClasses != null)
                {
                    unpairedClasses[i] = _classes!.Of(_unpaired[used]);
                    unpairedKeyword![i] = _classes.KeywordOf(unpairedClasses[i]);
                }
            });
        }
        return new HostBatch
        {
            Position = new LoaderPosition(epoch, batch),
            Next = new LoaderPosition((int)((step + 1) / BatchesPerEpoch), (int)((step + 1) % BatchesPerEpoch)),
            Images = images,
            Tokens = tokens,
            KeywordLabels = keywords,
            Unpaired = unpaired,
            Count = b,
            UnpairedCount = u,
            Captions = captions,
            ImageKeys = keys,
            UnpairedKeys = unpairedKeys,
            Labels = pairedClasses is null
                ? null
                : new HostBatchClasses(pairedClasses, unpairedClasses, unpairedKeyword),
        };
    }

    /// <summary>Decodes and augments the image at <paramref name="slot"/> of <paramref name="order"/>; under
    /// --skip-bad an undecodable image is reported and the next one in the order is used instead.</summary>
    int RenderWithFallback(int[] order, int slot, Random rng, Span<float> destination, Func<int, string> pathOf)
    {
        for (int attempt = 0; attempt < order.Length; attempt++)
        {
            int index = order[(slot + attempt) % order.Length];
            var path = pathOf(index);
            SkiaSharp.SKBitmap bitmap;
            bool owns;
            try
            {
                bitmap = _cache.Get(path, out owns);
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                _report.Report(path, e.Message);
                continue;
            }
            try
            {
                _preprocess.Train(bitmap, rng, destination);
            }
            finally
            {
                if (owns)
                    bitmap.Dispose();
            }
            return index;
        }
        throw new InvalidDataException("no decodable image left in the dataset.");
    }

    public void Dispose() => _cache.Dispose();
}
