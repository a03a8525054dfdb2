using SemiClip.Data;
using SemiClip.Model;
using static TorchSharp.torch;

namespace SemiClip.Evaluation;

/// <summary>Runs the evaluations a user asks for on one model and collects them in a report.</summary>
public sealed class EvaluationSuite(IEmbedder embedder)
{
    readonly IEmbedder _embedder = embedder;

    public EvaluationSuite(ModelBundle bundle, Device device, int batchSize = 256, int workers = 2)
        : this(new Embedder(bundle.Model, bundle.Tokenizer, device, batchSize, workers)) { }

    public EvaluationReport.ZeroShotSection ZeroShot(
        string datasetPath,
        IReadOnlyList<string> templates,
        BadInputReport report,
        string? imageRoot = null,
        string? classNames = null
    )
    {
        var ds = ClassificationDataset.Load(datasetPath, report, imageRoot, classNames);
        using var scope = NewDisposeScope();
        // An unreadable image (skipped with --skip-bad) is left out of every metric, never scored as a blank.
        var (images, kept) = _embedder.Readable(ds.Items.Select(i => i.ImagePath).ToList(), report);
        var items = kept.Select(i => ds.Items[i]).ToList();
        var prompts = ZeroShotClassifier.Prompts(ds.ClassNames, templates);
        var classes = ZeroShotClassifier.ClassEmbeddings(
            _embedder.EncodeTexts(prompts),
            ds.ClassNames.Count,
            templates.Count
        );
        var m = ZeroShotClassifier.Evaluate(images, classes, items.Select(i => i.Label).ToList(), ds.ClassNames);
        var confusion = Enumerable
            .Range(0, ds.ClassNames.Count)
            .Select(r => Enumerable.Range(0, ds.ClassNames.Count).Select(c => m.Confusion[r, c]).ToArray())
            .ToArray();
        return new EvaluationReport.ZeroShotSection(
            datasetPath,
            items.Count,
            ds.ClassNames.Count,
            templates.Count,
            m.Top1,
            m.Top5,
            ds.ClassNames.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => m.PerClassAccuracy[x.i]),
            confusion
        );
    }

    public EvaluationReport.RetrievalSection Retrieval(
        string captionFile,
        BadInputReport report,
        string? imageRoot = null,
        string? split = "test",
        RetrievalProtocol protocol = RetrievalProtocol.AllCaptions,
        int seed = 0,
        CaptionDatasetOptions? csv = null
    )
    {
        var all = CaptionDatasetReader.Read(
            captionFile,
            (csv ?? new CaptionDatasetOptions()) with
            {
                ImageRoot = imageRoot,
                Split = split,
            },
            report
        );
        using var scope = NewDisposeScope();
        var (images, kept) = _embedder.Readable(all.Select(s => s.ImagePath).ToList(), report);
        var samples = kept.Select(i => all[i]).ToList(); // an unreadable image and its captions leave every metric
        RetrievalResult r;
        int captions;
        if (protocol == RetrievalProtocol.OneCaptionPerImage)
        {
            var rng = new Random(seed);
            var texts = samples.Select(s => s.Captions[rng.Next(s.Captions.Count)]).ToList();
            r = RetrievalResult.ComputeDiagonal(images, _embedder.EncodeTexts(texts));
            captions = texts.Count;
        }
        else
        {
            var texts = samples.SelectMany(s => s.Captions).ToList();
            var owner = samples.SelectMany((s, i) => s.Captions.Select(_ => i)).ToList();
            r = RetrievalResult.Compute(images, _embedder.EncodeTexts(texts), owner);
            captions = texts.Count;
        }
        return new EvaluationReport.RetrievalSection(
            captionFile,
            samples.Count,
            captions,
            r.ImageToTextR1,
            r.ImageToTextR5,
            r.ImageToTextR10,
            r.TextToImageR1,
            r.TextToImageR5,
            r.TextToImageR10,
            r.MeanRecall
        )
        {
            Protocol = protocol == RetrievalProtocol.OneCaptionPerImage ? $"one-caption (seed {seed})" : "all-captions",
        };
    }

    public EvaluationReport.LinearProbeSection LinearProbe(
        string trainDataset,
        string testDataset,
        BadInputReport report
    )
    {
        var train = ClassificationDataset.Load(trainDataset, report);
        var test = ClassificationDataset.Load(testDataset, report);
        if (!train.ClassNames.SequenceEqual(test.ClassNames))
            throw new InvalidDataException($"{trainDataset} and {testDataset} have different classes.");
        using var scope = NewDisposeScope();
        var (trainX, trainKept) = _embedder.Readable(train.Items.Select(i => i.ImagePath).ToList(), report);
        var (testX, testKept) = _embedder.Readable(test.Items.Select(i => i.ImagePath).ToList(), report);
        var result = Evaluation.LinearProbe.Run(
            trainX,
            trainKept.Select(i => (long)train.Items[i].Label).ToArray(),
            testX,
            testKept.Select(i => (long)test.Items[i].Label).ToArray(),
            train.ClassNames.Count
        );
        return new EvaluationReport.LinearProbeSection(trainDataset, testDataset, result.TestAccuracy, result.ChosenL2);
    }
}
