using SemiClip.Curation;
using SemiClip.Data;
using SemiClip.Evaluation;
using SemiClip.Losses;
using SemiClip.Model;
using SemiClip.Runtime;
using SemiClip.Tensors;
using SemiClip.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SemiClip.Serve;

/// <summary>One image the server knows: where it is, the URL that serves it (null when it lies outside the image
/// folders), its captions when it is captioned, and the captions and class hidden from training when the split
/// made it unpaired (they score the pseudo-labels; the pages say so).</summary>
public sealed record ImageItem(string Path, string? Url, bool Paired, IReadOnlyList<string> Captions, string? Label)
{
    public IReadOnlyList<string> HiddenCaptions { get; init; } = [];
}

/// <summary>What the pages show, computed once when the server starts: the model, every image's embedding, the
/// captioned/unpaired split, zero-shot class embeddings, and S-CLIP's transport plan from the unpaired images to the
/// captioned ones over the whole collection (training plans within each batch; over the whole collection the plan
/// says which captions S-CLIP would spread over an image when the batch holds them all).</summary>
public sealed class Collection : IDisposable
{
    /// <summary>The plan is dense (unpaired × captioned floats): past this many unpaired images a seeded sample of
    /// them is planned, and the page says how many.</summary>
    public const int MaxPlannedImages = 20_000;

    public required ModelBundle Bundle { get; init; }
    public required Embedder Embedder { get; init; }
    public required Device Device { get; init; }
    public required IReadOnlyList<ImageItem> Images { get; init; }

    /// <summary>Row i: the L2-normalised embedding of <see cref="Images"/>[i] (CPU float32).</summary>
    public required Tensor Features { get; init; }
    public required IReadOnlyList<int> PairedIndices { get; init; }
    public required IReadOnlyList<int> UnpairedIndices { get; init; }
    public required double LogitScale { get; init; }
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>Classes × D, or null without class names.</summary>
    public Tensor? ClassEmbeddings { get; init; }
    public KeywordLabeler? Keywords { get; init; }
    public required PseudoLabelTable PseudoLabels { get; init; }

    /// <summary>Reads, embeds and plans; <paramref name="progress"/> gets (stage, done, total).</summary>
    public static Collection Load(ServeOptions options, ImageRoots roots, Action<string, long, long> progress)
    {
        progress("loading the model", 0, 1);
        var device = DeviceSelector.Parse(options.Device);
        var bundle = ModelBundle.Load(options.Model, options.Vocab, options.Activation);
        bundle.Model.to(device);
        var embedder = new Embedder(bundle.Model, bundle.Tokenizer, device, workers: options.Workers)
        {
            Warn = _ => { },
        };
        var run = RunSettings(options.Model);
        var images = ReadImages(options, run, roots, progress);

        var index = options.Index is null
            ? null
            : ImageIndexFile.Read(options.Index, ModelFingerprint.Of(bundle.Model));
        var features = EmbedAll(images, embedder, index, progress);

        double scale = bundle.Model.LogitScale();
        var classNames = ClassList(options.Classes, images);
        Tensor? classEmbeddings = null;
        if (classNames.Count > 0)
        {
            progress("embedding the class names", 0, classNames.Count);
            var templates = PromptTemplates.Load(options.Templates);
            using var prompts = embedder.EncodeTexts(ZeroShotClassifier.Prompts(classNames, templates));
            classEmbeddings = ZeroShotClassifier.ClassEmbeddings(prompts, classNames.Count, templates.Count);
        }
        var keywordsFile = options.Keywords ?? (options.Captions is null ? run?.Keywords : null);
        var keywords = keywordsFile is null
            ? null
            : KeywordLabeler.FromFile(keywordsFile, run?.KeywordMatch ?? KeywordMatch.Reference);
        var paired = images.Select((x, i) => (x, i)).Where(t => t.x.Paired).Select(t => t.i).ToList();
        var unpaired = images.Select((x, i) => (x, i)).Where(t => !t.x.Paired).Select(t => t.i).ToList();
        progress("planning the transport from unpaired to captioned images", 0, 1);
        var loss = run?.Loss ?? new LossConfig();
        var table = PseudoLabelTable.Compute(
            images,
            features,
            paired,
            unpaired,
            scale,
            loss.SinkhornIterations,
            loss.SinkhornEpsilon,
            keywords,
            MaxPlannedImages
        );
        return new Collection
        {
            Bundle = bundle,
            Embedder = embedder,
            Device = device,
            Images = images,
            Features = features,
            PairedIndices = paired,
            UnpairedIndices = unpaired,
            LogitScale = scale,
            ClassNames = classNames,
            ClassEmbeddings = classEmbeddings,
            Keywords = keywords,
            PseudoLabels = table,
        };
    }

    /// <summary>The run's training settings when <paramref name="model"/> is a run folder.</summary>
    public static TrainConfig? RunSettings(string model)
    {
        var config = Path.Combine(model, "config.json");
        return Directory.Exists(model) && File.Exists(config) ? TrainConfig.Load(config) : null;
    }

    static List<ImageItem> ReadImages(
        ServeOptions options,
        TrainConfig? run,
        ImageRoots roots,
        Action<string, long, long> progress
    )
    {
        progress("reading the captions", 0, 1);
        var report = new BadInputReport(BadInputPolicy.FailFast);
        var items = new List<ImageItem>();
        var known = new HashSet<string>(StringComparer.Ordinal);
        var (captions, readOptions, ratio, seed) = CaptionSource(options, run);
        if (captions != null)
        {
            var samples = CaptionDatasetReader.Read(captions, readOptions, report);
            var split = ratio < 1 ? PairedUnpairedSplit.Create(samples, ratio, seed) : null;
            var keep = split?.Paired.Select(s => s.ImagePath).ToHashSet(StringComparer.Ordinal);
            foreach (var s in samples)
            {
                var full = Path.GetFullPath(s.ImagePath);
                if (!known.Add(full))
                    continue;
                bool paired = keep is null || keep.Contains(s.ImagePath);
                items.Add(
                    new ImageItem(full, roots.UrlOf(full), paired, paired ? s.Captions : [], Humanised(s.Label))
                    {
                        HiddenCaptions = paired ? [] : s.Captions,
                    }
                );
            }
        }
        if (options.Images != null)
            foreach (var file in ImageFiles.FromFolderOrList(options.Images, report))
            {
                var full = Path.GetFullPath(file);
                if (known.Add(full))
                    items.Add(new ImageItem(full, roots.UrlOf(full), false, [], FolderLabel(options.Images, full)));
            }
        if (items.Count == 0)
            throw new ArgumentException(
                "nothing to show: give --captions (or a run folder as --model) and/or --images."
            );
        return items;
    }

    /// <summary>Where the captions come from: --captions with its own options, else the run's training data and
    /// split.</summary>
    static (string? File, CaptionDatasetOptions Options, double Ratio, int Seed) CaptionSource(
        ServeOptions options,
        TrainConfig? run
    )
    {
        if (options.Captions != null)
            return (
                options.Captions,
                new CaptionDatasetOptions { ImageRoot = options.ImageRoot, Split = options.Split },
                options.LabelRatio ?? 1,
                options.Seed ?? 0
            );
        if (run?.TrainData is { } data && !Data.Shards.ShardPattern.IsShards(data))
            return (
                data,
                run.CaptionOptions(),
                options.LabelRatio ?? run.LabelRatio,
                options.Seed ?? run.EffectiveSplitSeed
            );
        return (null, new CaptionDatasetOptions(), 1, 0);
    }

    /// <summary>An image in a class folder (<c>images/&lt;class&gt;/x.jpg</c>) has that class.</summary>
    static string? FolderLabel(string root, string file)
    {
        if (!Directory.Exists(root))
            return null;
        var relative = Path.GetRelativePath(Path.GetFullPath(root), file).Split(Path.DirectorySeparatorChar);
        return relative.Length >= 2 ? Humanised(relative[^2]) : null;
    }

    /// <summary>Labels as words ("parking_lot", "ParkingLot" → "parking lot"), so a caption file's labels and class
    /// folders name a class alike, and zero-shot prompts read as text.</summary>
    static string? Humanised(string? label) => label is null ? null : Data.ClassNames.Humanise(label);

    public static IReadOnlyList<string> ClassList(string? classes, IReadOnlyList<ImageItem> images)
    {
        if (classes is null)
            return images
                .Select(i => i.Label)
                .OfType<string>()
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)
                .ToList();
        var names = File.Exists(classes) ? File.ReadAllLines(classes) : classes.Split(',');
        var list = names
            .Select(n => n.Trim())
            .Where(n => n.Length > 0 && !n.StartsWith('#'))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (list.Count == 0)
            throw new ArgumentException($"--classes {classes}: no class names.");
        return list;
    }

    static Tensor EmbedAll(
        List<ImageItem> images,
        Embedder embedder,
        ImageIndexFile? index,
        Action<string, long, long> progress
    )
    {
        var rows = new Tensor?[images.Count];
        var missing = new List<int>();
        for (int i = 0; i < images.Count; i++)
            if (index != null && index.RowOf(images[i].Path) is { } row)
                rows[i] = index.Embeddings[row].unsqueeze(0);
            else
                missing.Add(i);
        if (missing.Count > 0)
        {
            string stage = $"embedding {missing.Count} images";
            progress(stage, 0, missing.Count);
            var report = new BadInputReport(BadInputPolicy.FailFast);
            using var encoded = embedder.EncodeImages(missing.Select(i => images[i].Path).ToList(), report, done =>
                progress(stage, done, missing.Count)
            );
            for (int k = 0; k < missing.Count; k++)
                rows[missing[k]] = encoded[k].unsqueeze(0);
        }
        var all = cat(rows.Select(r => r!).ToArray(), 0).contiguous();
        foreach (var r in rows)
            r!.Dispose();
        index?.Dispose();
        return all;
    }

    /// <summary>Zero-shot class probabilities of images (rows of <paramref name="features"/>), top <paramref
    /// name="k"/>.</summary>
    public List<(string Name, double Probability)>[] ZeroShot(Tensor features, int k = 3)
    {
        if (ClassEmbeddings is null)
            return features.shape[0] == 0
                ? []
                : new List<(string, double)>[features.shape[0]]
                    .Select(_ => new List<(string, double)>())
                    .ToArray();
        using var scope = NewDisposeScope();
        var probs = nn.functional.softmax(features.matmul(ClassEmbeddings.t()).Times(LogitScale), 1);
        var (values, indices) = probs.topk(Math.Min(k, ClassNames.Count), dim: 1);
        var v = values.data<float>().ToArray();
        var ix = indices.data<long>().ToArray();
        int kk = (int)values.shape[1];
        return Enumerable
            .Range(0, (int)features.shape[0])
            .Select(r =>
                Enumerable.Range(0, kk).Select(j => (ClassNames[(int)ix[r * kk + j]], (double)v[r * kk + j])).ToList()
            )
            .ToArray();
    }

    /// <summary>The suggest ranking over the unpaired images not in <paramref name="captioned"/>: indices into <see
    /// cref="Images"/>.</summary>
    public List<(int Image, Suggestion Suggestion)> Suggestions(ISet<string> captioned, int top, double diversity)
    {
        var open = UnpairedIndices.Where(i => !captioned.Contains(Images[i].Path)).ToList();
        if (open.Count == 0 || PairedIndices.Count == 0)
            return [];
        using var scope = NewDisposeScope();
        var paired = Features.index_select(0, tensor(PairedIndices.Select(i => (long)i).ToArray()));
        var unpaired = Features.index_select(0, tensor(open.Select(i => (long)i).ToArray()));
        return CaptionSuggester
            .Rank(paired, unpaired, LogitScale, Math.Min(top, open.Count), diversity)
            .Select(s => (open[s.Index], s with { NearestPaired = PairedIndices[s.NearestPaired] }))
            .ToList();
    }

    /// <summary>The captioned image nearest each of <paramref name="images"/>, or -1 when nothing is
    /// captioned.</summary>
    public int[] NearestPaired(IReadOnlyList<int> images)
    {
        if (PairedIndices.Count == 0 || images.Count == 0)
            return images.Select(_ => -1).ToArray();
        using var scope = NewDisposeScope();
        var paired = Features.index_select(0, tensor(PairedIndices.Select(i => (long)i).ToArray()));
        var rows = Features.index_select(0, tensor(images.Select(i => (long)i).ToArray()));
        var best = rows.matmul(paired.t()).argmax(1).data<long>().ToArray();
        return best.Select(b => PairedIndices[(int)b]).ToArray();
    }

    public void Dispose()
    {
        Features.Dispose();
        ClassEmbeddings?.Dispose();
        Bundle.Dispose();
    }
}
