using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SemiClip.Data;
using SemiClip.Evaluation;
using SemiClip.Model;
using SemiClip.Runs;
using SemiClip.Tokenization;
using SemiClip.Training;

namespace SemiClip.Bench;

/// <summary>The real-data benchmark on RSICD captions over AID images (<c>../shared/data/rsicd10k</c>).
/// Two regimes: <b>pretrained</b> (a tiny CLIP first trained with all captions on the train images of
/// 15 of the 30 classes, every other class in sorted order, then adapted on all 30) and <b>scratch</b>.
/// Every method sees the same number of images per step (<c>batch_composition: split</c>). Each run
/// writes one result file and is skipped when that file exists, so the benchmark can be stopped and
/// continued; after every run the aggregate JSON and Markdown tables are rewritten.</summary>
public static class RealDataBenchmark
{
    sealed record Variant(string Name, string Method, string[] Overrides)
    {
        /// <summary>When set, the run trains on all captions of this file (made per seed) instead of a label-ratio
        /// split.</summary>
        public Func<Options, RealData, int, string>? TrainFile { get; init; }
    }

    /// <summary>The pretrained regime's start; other lengths are named in the run (…-pre2400-…) and its
    /// setting.</summary>
    internal const long DefaultPretrainSteps = 800;

    /// <summary>Adaptation steps of every run unless <c>--steps</c> says otherwise (other lengths are named
    /// …-st500-…).</summary>
    internal const long DefaultSteps = 250;

    static readonly Variant Clip = new("clip", "clip", []);
    static readonly Variant SClip = new("sclip", "sclip", []);
    static readonly Variant SClipCaption = new("sclip-caption-only", "sclip", ["loss.keyword_weight=0"]);
    static readonly Variant SClipKeyword = new("sclip-keyword-only", "sclip", ["loss.caption_weight=0"]);

    // Both pseudo-label weights at 0: what is left is the unpaired images as extra negatives of the text→image term.
    static readonly Variant SClipNoPseudoLabels = new(
        "sclip-no-pseudo-labels",
        "sclip",
        ["loss.caption_weight=0", "loss.keyword_weight=0"]
    );
    static readonly Variant SoftClip = new("softclip", "softclip", []);
    static readonly Variant SoftClipPooled = new("softclip-pooled", "softclip", ["loss.intra_source=pooled"]);
    static readonly Variant SoftClipTokens = new("softclip-tokens", "softclip", ["loss.intra_source=tokens"]);
    static readonly Variant SClipSoftClip = new("sclip+softclip", "sclip+softclip", []);

    // `semiclip suggest` measured (issue: the few-caption workflow): a random 5% of the train images plus 5% more,
    // chosen at random or by the suggester run with the pretrained starting model.
    static readonly Variant ClipRandomMore = new("clip-random5+random5", "clip", [])
    {
        TrainFile = (o, d, s) => SuggestedSubsets.Write(o.Work, d, Pretrain(o, d), s).Random,
    };
    static readonly Variant ClipSuggestedMore = new("clip-random5+suggested5", "clip", [])
    {
        TrainFile = (o, d, s) => SuggestedSubsets.Write(o.Work, d, Pretrain(o, d), s).Suggested,
    };

    public sealed record RunRecord
    {
        public required string Name { get; init; }
        public required string Regime { get; init; }
        public required string Method { get; init; }
        public required string Variant { get; init; }
        public required double LabelRatio { get; init; }
        public required int Seed { get; init; }
        public required int SplitSeed { get; init; }
        public double NoiseFraction { get; init; }
        public required long Steps { get; init; }
        public required string EvalSplit { get; init; }

        /// <summary>What makes runs comparable: evaluation split, schedule, learning rate, split policy, tag.</summary>
        public string Setting { get; init; } = "";
        public required double Top1 { get; init; }
        public required double Top5 { get; init; }
        public double Top1SeenClasses { get; init; }
        public double Top1NewClasses { get; init; }
        public required double Retrieval { get; init; }

        /// <summary>Mean recall under the reference's protocol (one caption per image, seed 0, diagonal
        /// ranks).</summary>
        public double RetrievalOneCaption { get; init; } = double.NaN;
        public double ImageToTextR1 { get; init; }
        public double TextToImageR1 { get; init; }
        public required double Seconds { get; init; }
        public double FinalLogitScale { get; init; }

        /// <summary>Median seconds per training step (batch over the logged samples/s), evaluation excluded.</summary>
        public double StepSeconds { get; init; } = double.NaN;

        /// <summary>For a keep_best record: the step whose weights were kept, chosen on the val split.</summary>
        public long? BestStep { get; init; }
        public Dictionary<string, double> Diagnostics { get; init; } = new();
        public List<double[]> Curve { get; init; } = new(); // [step, top-1]
        public string[] Overrides { get; init; } = [];
    }

    sealed record Options(
        string Data,
        string Work,
        string Out,
        long Steps,
        long PretrainSteps,
        double Lr,
        double PretrainLr,
        int Batch,
        int[] Seeds,
        string[] Regimes,
        string EvalSplit,
        long CurveEvery,
        bool FixedSplit,
        string[] Extra,
        string Tag,
        double Noise,
        string KeepBest,
        string Report
    );

    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        var repo = BenchReport.RepoRoot();
        var o = new Options(
            Data: BenchReport.Option(
                args,
                "--data",
                Path.GetFullPath(Path.Combine(repo, "..", "shared", "data", "rsicd10k"))
            ),
            Work: BenchReport.Option(args, "--work-dir", Path.Combine(repo, "runs", "bench-real")),
            Out: BenchReport.ResultsDir(args),
            Steps: long.Parse(BenchReport.Option(args, "--steps", $"{DefaultSteps}"), CultureInfo.InvariantCulture),
            PretrainSteps: long.Parse(
                BenchReport.Option(args, "--pretrain-steps", $"{DefaultPretrainSteps}"),
                CultureInfo.InvariantCulture
            ),
            // chosen on val (README)
            Lr: double.Parse(BenchReport.Option(args, "--lr", "5e-4"), CultureInfo.InvariantCulture),
            PretrainLr: double.Parse(BenchReport.Option(args, "--pretrain-lr", "5e-4"), CultureInfo.InvariantCulture),
            Batch: int.Parse(BenchReport.Option(args, "--batch", "64"), CultureInfo.InvariantCulture),
            Seeds: BenchReport.Option(args, "--seeds", quick ? "0" : "0,1,2").Split(',').Select(int.Parse).ToArray(),
            Regimes: BenchReport.Option(args, "--regimes", "pretrained,scratch").Split(','),
            EvalSplit: BenchReport.Option(args, "--eval-split", "test"),
            CurveEvery: long.Parse(BenchReport.Option(args, "--curve-every", "50"), CultureInfo.InvariantCulture),
            FixedSplit: args.Contains("--fixed-split"),
            Extra: BenchReport.Option(args, "--set", "").Split(';', StringSplitOptions.RemoveEmptyEntries),
            Tag: BenchReport.Option(args, "--tag", ""),
            Noise: double.Parse(BenchReport.Option(args, "--noise", "0"), CultureInfo.InvariantCulture),
            // keep_best chooses on the val split while training; the kept step is then evaluated on --eval-split.
            KeepBest: BenchReport.Option(args, "--keep-best", ""),
            Report: BenchReport.Option(args, "--report", "real-rsicd")
        );
        if (!File.Exists(Path.Combine(o.Data, "dataset_rsicd10k.json")))
        {
            Console.Error.WriteLine($"{o.Data}: dataset_rsicd10k.json not found (pass --data DIR).");
            return 2;
        }
        var resultsDir = Path.Combine(o.Work, "results");
        if (args.Contains("--report-only"))
        {
            RealDataReport.Write(resultsDir, o.Out, o.Report);
            return 0;
        }
        var data = RealData.Prepare(o.Data, Path.Combine(o.Work, "data"));
        Directory.CreateDirectory(resultsDir);
        if (args.Contains("--wise"))
            return WiseCurve.Run(
                o.Work,
                o.Out,
                o.EvalSplit,
                o.Lr.ToString("0.#e0", CultureInfo.InvariantCulture),
                o.Seeds,
                data.ClassCsv,
                data.PretrainClasses,
                data.NewClasses,
                PretrainRunName(o)
            );

        // Priority order: the comparison the benchmark exists for first, so a stopped run still says it.
        var grid = new List<(Variant Variant, double Ratio)>();
        if (args.Contains("--suggest"))
            grid.AddRange([(ClipRandomMore, 0.1), (ClipSuggestedMore, 0.1)]);
        else if (o.Noise > 0)
        {
            // Wrong captions (issue: SoftCLIP's robustness): CLIP against SoftCLIP with each intra-modal source at
            // 100% pairs, and the combination at 10% pairs against each method alone.
            grid.AddRange([
                (Clip, 1.0),
                (SoftClip, 1.0),
                (SoftClipPooled, 1.0),
                (Clip, 0.1),
                (SClip, 0.1),
                (SoftClip, 0.1),
                (SClipSoftClip, 0.1),
                (SoftClipTokens, 1.0),
            ]);
        }
        else
            grid.AddRange([(Clip, 0.1), (SClip, 0.1)]);
        if (!quick && o.Noise == 0 && !args.Contains("--suggest"))
        {
            grid.Add((Clip, 0.3));
            grid.Add((Clip, 1.0));
            grid.Add((SClipCaption, 0.1));
            grid.Add((SClipKeyword, 0.1));
            grid.Add((SClipNoPseudoLabels, 0.1));
            grid.Add((SClip, 0.3));
            grid.Add((SClipCaption, 0.3));
            grid.Add((SClipKeyword, 0.3));
            grid.Add((SoftClip, 1.0)); // the wrong-captions rows' 0% point: what SoftCLIP costs on clean captions
        }
        var only = BenchReport.Option(args, "--only", "");
        if (only.Length > 0)
            grid = grid.Where(g => only.Split(',').Contains($"{g.Variant.Name}@{g.Ratio * 100:0}")).ToList();

        foreach (var regime in o.Regimes)
            foreach (var (variant, ratio) in grid)
                foreach (var seed in o.Seeds)
                {
                    var name = RunName(o, regime, variant.Name, ratio, seed);
                    var resultPath = Path.Combine(resultsDir, name + ".json");
                    if (File.Exists(resultPath))
                        continue;
                    var (record, best) = TrainAndEvaluate(o, data, regime, variant, ratio, seed, name);
                    if (best is not null)
                        IO.AtomicFile.WriteAllText(
                            Path.Combine(resultsDir, best.Name + ".json"),
                            JsonSerializer.Serialize(best, BenchReport.Json)
                        );
                    IO.AtomicFile.WriteAllText(resultPath, JsonSerializer.Serialize(record, BenchReport.Json));
                    Console.WriteLine(
                        $"{name}: top-1 {100 * record.Top1:F1} (seen {100 * record.Top1SeenClasses:F1}, new "
                            + $"{100 * record.Top1NewClasses:F1}) "
                            + $"retrieval {100 * record.Retrieval:F1} precision "
                            + $"{record.Diagnostics.GetValueOrDefault("pseudo_label_precision", double.NaN):F3} "
                            + $"({record.Seconds:F0} s)"
                    );
                    RealDataReport.Write(resultsDir, o.Out, o.Report);
                }
        RealDataReport.Write(resultsDir, o.Out, o.Report);
        return 0;
    }

    static string RunName(Options o, string regime, string variant, double ratio, int seed, string tagSuffix = "") =>
        $"{regime}-{variant}-r{ratio * 100:0}-{o.EvalSplit}-st{o.Steps}-lr{o.Lr:0.#e0}"
        + (o.FixedSplit ? "-fixedsplit" : "")
        + (o.Tag.Length > 0 ? "-" + o.Tag : "")
        + tagSuffix
        + (NonDefaultStart(o, regime) is { } start ? $"-pre{start}" : "")
        + (o.Noise > 0 ? $"-noise{o.Noise * 100:0}" : "")
        + $"-s{seed}";

    /// <summary>The pretraining length when a pretrained run starts from another than the default; null
    /// otherwise.</summary>
    static long? NonDefaultStart(Options o, string regime) =>
        regime == "pretrained" && o.PretrainSteps != DefaultPretrainSteps ? o.PretrainSteps : null;

    static string PretrainRunName(Options o) => $"pretrain15-st{o.PretrainSteps}-lr{o.PretrainLr:0.#e0}";

    static TrainConfig BaseConfig(Options o, RealData data, string runName, int seed) =>
        TrainConfig.Load(null) with
        {
            RunsDir = Path.Combine(o.Work, "runs"),
            RunName = runName,
            Model = "tiny-vit",
            Vocab = data.VocabPath,
            VocabSize = data.Tokenizer.VocabSize,
            TrainData = data.CaptionFile,
            ImageRoot = data.ImageRoot,
            Split = "train",
            SkipBad = true,
            CacheImages = true,
            BatchSize = o.Batch,
            Workers = 2,
            Device = "cpu",
            Seed = seed,
            CheckpointEvery = 1_000_000,
            LogEvery = 10,
            WarmupSteps = 10,
            WeightDecay = 0.2,
            Keywords = data.KeywordsPath,
        };

    /// <summary>CLIP on all captions of the train images of the 15 pretraining classes; cached.</summary>
    static string Pretrain(Options o, RealData data)
    {
        var name = PretrainRunName(o);
        var weights = Path.Combine(o.Work, "runs", name, "model.safetensors");
        if (File.Exists(weights))
            return weights;
        var runDir = Path.Combine(o.Work, "runs", name);
        // A long pretraining checkpoints and, when the benchmark was stopped, continues where it was.
        bool resume = Directory.Exists(runDir) && TrainCheckpoint.Latest(runDir) is not null;
        if (!resume && Directory.Exists(runDir))
            Directory.Delete(runDir, true);
        Console.WriteLine($"pretraining on 15 classes ({o.PretrainSteps} steps{(resume ? ", resumed" : "")})");
        var cfg = BaseConfig(o, data, name, seed: 0) with
        {
            TrainData = data.PretrainCaptionFile,
            ImageRoot = null,
            Split = null,
            Method = Losses.TrainingMethod.Clip,
            Steps = o.PretrainSteps,
            Lr = o.PretrainLr,
            WarmupSteps = 50,
            CheckpointEvery = 200,
        };
        using var session = new TrainingSession(cfg, resume);
        session.Train();
        return weights;
    }

    /// <summary>The run's record for its final weights and, with <c>--keep-best</c>, one for the step kept in
    /// best/.</summary>
    static (RunRecord Final, RunRecord? Best) TrainAndEvaluate(
        Options o,
        RealData data,
        string regime,
        Variant variant,
        double ratio,
        int seed,
        string name
    )
    {
        var runDir = Path.Combine(o.Work, "runs", name);
        if (Directory.Exists(runDir))
            Directory.Delete(runDir, true); // an interrupted run starts over
        var baseConfig = BaseConfig(o, data, name, seed) with
        {
            Method = Losses.LossConfig.ParseMethod(variant.Method),
            LabelRatio = ratio,
            Steps = o.Steps,
            Lr = o.Lr,
            SplitSeed = o.FixedSplit ? 0 : seed,
            Pretrained = regime == "pretrained" ? Pretrain(o, data) : null,
        };
        if (regime == "scratch")
            baseConfig = baseConfig with { Lr = 5e-4, WarmupSteps = 50 };
        if (o.Noise > 0)
            baseConfig = baseConfig with
            {
                TrainData = data.NoisyTrainFile(o.Noise, seed),
                ImageRoot = null,
                Split = null,
            };
        if (variant.TrainFile is { } trainFile)
            baseConfig = baseConfig with
            {
                TrainData = trainFile(o, data, seed),
                ImageRoot = null,
                Split = null,
                LabelRatio = 1.0,
            };
        // Variant and command-line overrides are checked as `semiclip train --set` checks them.
        var keepBest =
            o.KeepBest.Length == 0
                ? []
                : new[]
                {
                    $"keep_best={o.KeepBest}",
                    "eval_every_steps=25",
                    $"eval_classification={data.ClassCsv("val")}",
                };
        var cfg = baseConfig.WithOverrides(variant.Overrides.Concat(o.Extra).Concat(keepBest));
        var curve = new List<double[]>();
        var clock = Stopwatch.StartNew();
        double evalSeconds = 0;
        using (var session = new TrainingSession(cfg, resume: false))
        {
            var evaluator = new EvaluationSuite(
                new ModelBundle(session.Model, session.Tokenizer),
                TorchSharp.torch.CPU,
                workers: 2
            );
            void Point(long step)
            {
                var t = Stopwatch.StartNew();
                var z = evaluator.ZeroShot(
                    data.ClassCsv(o.EvalSplit),
                    PromptTemplates.RemoteSensing,
                    new BadInputReport(BadInputPolicy.FailFast)
                );
                curve.Add([step, z.Top1]);
                evalSeconds += t.Elapsed.TotalSeconds;
            }
            Point(0);
            session.Train(r =>
            {
                if (r.Step % o.CurveEvery == 0 && r.Step < r.TotalSteps)
                    Point(r.Step);
            });
        }
        double seconds = clock.Elapsed.TotalSeconds - evalSeconds;
        var metrics = RealDataReport.ReadMetrics(Path.Combine(runDir, "metrics.jsonl"));
        var throughput = metrics
            .Where(m => m.GetValueOrDefault("samples_per_s") > 0)
            .Select(m => m["samples_per_s"])
            .Order()
            .ToList();
        double stepSeconds = throughput.Count == 0 ? double.NaN : o.Batch / throughput[throughput.Count / 2];
        RunRecord Evaluate(ModelBundle bundle, string recordName, long? bestStep)
        {
            var suite = new EvaluationSuite(bundle, TorchSharp.torch.CPU, workers: 2);
            var report = new BadInputReport(BadInputPolicy.Skip);
            var zs = suite.ZeroShot(data.ClassCsv(o.EvalSplit), PromptTemplates.RemoteSensing, report);
            var rt = suite.Retrieval(data.CaptionFile, report, data.ImageRoot, o.EvalSplit);
            var rtOne = suite.Retrieval(
                data.CaptionFile,
                report,
                data.ImageRoot,
                o.EvalSplit,
                RetrievalProtocol.OneCaptionPerImage,
                seed: 0
            );
            double Mean(IEnumerable<string> classes) => classes.Select(c => zs.PerClass[c]).Average();
            return new RunRecord
            {
                Name = recordName,
                Regime = regime,
                Method = variant.Method,
                Variant = variant.Name,
                LabelRatio = ratio,
                Seed = seed,
                SplitSeed = cfg.EffectiveSplitSeed,
                Steps = o.Steps,
                EvalSplit = o.EvalSplit,
                NoiseFraction = o.Noise,
                Setting =
                    $"{o.EvalSplit} split, {o.Steps} steps, lr {cfg.Lr.ToString(CultureInfo.InvariantCulture)}"
                    + (o.FixedSplit ? ", paired subset fixed" : "")
                    + (o.Tag.Length > 0 ? ", " + o.Tag : "")
                    + (NonDefaultStart(o, regime) is { } start ? $", {start}-step start" : ""),
                Top1 = zs.Top1,
                Top5 = zs.Top5,
                Top1SeenClasses = Mean(data.PretrainClasses),
                Top1NewClasses = Mean(data.NewClasses),
                Retrieval = rt.MeanRecall,
                RetrievalOneCaption = rtOne.MeanRecall,
                ImageToTextR1 = rt.ImageToTextR1,
                TextToImageR1 = rt.TextToImageR1,
                Seconds = seconds,
                StepSeconds = stepSeconds,
                BestStep = bestStep,
                FinalLogitScale = metrics.LastOrDefault(m => m.ContainsKey("logit_scale"))?["logit_scale"]
                    ?? double.NaN,
                Diagnostics = RealDataReport.LastQuarterMeans(metrics, o.Steps),
                Curve = bestStep is null ? curve.Append([o.Steps, zs.Top1]).ToList() : [],
                Overrides = variant.Overrides.Concat(o.Extra).Concat(keepBest).ToArray(),
            };
        }
        RunRecord final;
        using (var bundle = ModelBundle.Load(runDir))
            final = Evaluate(bundle, name, null);
        if (o.KeepBest.Length == 0)
            return (final, null);
        var best = ValidationMetrics.Read(runDir)
            ?? throw new InvalidOperationException(
                $"{runDir}: keep_best {o.KeepBest} kept no step (see metrics.jsonl)"
            );
        using var bestBundle = ModelBundle.Load(
            Path.Combine(ValidationMetrics.Folder(runDir), "model.safetensors"),
            ModelBundle.RunVocabulary(runDir)
        );
        return (final, Evaluate(bestBundle, RunName(o, regime, variant.Name, ratio, seed, "-best"), best.Step));
    }
}

/// <summary>The benchmark's view of RSICD-10k: caption file, class CSVs per split, keywords (the class
/// names as words), a compact BPE vocabulary learned from the train captions, and the pretraining subset.</summary>
sealed class RealData
{
    public required string CaptionFile { get; init; }
    public required string ImageRoot { get; init; }
    public required string PretrainCaptionFile { get; init; }
    public required string KeywordsPath { get; init; }
    public required string VocabPath { get; init; }
    public required ClipTokenizer Tokenizer { get; init; }
    public required IReadOnlyList<string> PretrainClasses { get; init; }
    public required IReadOnlyList<string> NewClasses { get; init; }
    public required string Dir { get; init; }

    public string ClassCsv(string split) => Path.Combine(Dir, $"classes-{split}.csv");

    /// <summary>The train split with the captions of <paramref name="fraction"/> of its images swapped among them (a
    /// cycle, so every chosen image gets another's captions), fixed by <paramref name="seed"/>; JSON Lines.</summary>
    public string NoisyTrainFile(double fraction, int seed)
    {
        var path = Path.Combine(Dir, $"train-noise{fraction * 100:0}-s{seed}.jsonl");
        if (File.Exists(path))
            return path;
        var train = CaptionDatasetReader.Read(
            CaptionFile,
            new CaptionDatasetOptions { ImageRoot = ImageRoot, Split = "train" },
            new BadInputReport(BadInputPolicy.Skip)
        );
        var rng = new Random(seed + 77);
        var chosen = Enumerable
            .Range(0, train.Count)
            .OrderBy(_ => rng.Next())
            .Take((int)Math.Round(fraction * train.Count))
            .ToArray();
        var captions = train.Select(s => s.Captions).ToArray();
        for (int k = 0; k < chosen.Length; k++)
            captions[chosen[k]] = train[chosen[(k + 1) % chosen.Length]].Captions;
        IO.AtomicFile.WriteAllText(
            path,
            string.Concat(
                train.Select(
                    (s, i) =>
                        JsonSerializer.Serialize(
                            new
                            {
                                image = s.ImagePath,
                                captions = captions[i],
                                label = s.Label,
                            }
                        ) + "\n"
                )
            )
        );
        return path;
    }

    public static RealData Prepare(string source, string dir)
    {
        Directory.CreateDirectory(dir);
        var captionFile = Path.Combine(source, "dataset_rsicd10k.json");
        var imageRoot = Path.Combine(source, "images");
        var report = new BadInputReport(BadInputPolicy.Skip);
        var all = CaptionDatasetReader.Read(
            captionFile,
            new CaptionDatasetOptions { ImageRoot = imageRoot, Split = null },
            report
        );
        var labels = all.Select(s => s.Label ?? throw new InvalidDataException($"{s.Source}: no label"))
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();
        var pretrainLabels = labels.Where((_, i) => i % 2 == 0).ToList();
        foreach (var split in new[] { "train", "val", "test" })
        {
            var path = Path.Combine(dir, $"classes-{split}.csv");
            if (!File.Exists(path))
                IO.AtomicFile.WriteAllText(
                    path,
                    "path,label\n"
                        + string.Concat(
                            all.Where(s => s.Split == split)
                                .Select(s => $"{s.ImagePath},{ClassNames.Humanise(s.Label!)}\n")
                        )
                );
        }
        var pretrainFile = Path.Combine(dir, "pretrain-15-classes.jsonl");
        if (!File.Exists(pretrainFile))
            IO.AtomicFile.WriteAllText(
                pretrainFile,
                string.Concat(
                    all.Where(s => s.Split == "train" && pretrainLabels.Contains(s.Label!))
                        .Select(s =>
                            JsonSerializer.Serialize(
                                new
                                {
                                    image = s.ImagePath,
                                    captions = s.Captions,
                                    label = s.Label,
                                }
                            ) + "\n"
                        )
                )
            );
        var keywords = Path.Combine(dir, "keywords.txt");
        if (!File.Exists(keywords))
            IO.AtomicFile.WriteAllText(keywords, string.Concat(labels.Select(l => ClassNames.Humanise(l) + "\n")));
        var vocab = Path.Combine(dir, "merges.txt");
        if (!File.Exists(vocab))
            BpeTrainer.Save(
                vocab,
                BpeTrainer.Train(all.Where(s => s.Split == "train").SelectMany(s => s.Captions), 2000)
            );
        return new RealData
        {
            CaptionFile = captionFile,
            ImageRoot = imageRoot,
            PretrainCaptionFile = pretrainFile,
            KeywordsPath = keywords,
            VocabPath = vocab,
            Tokenizer = ClipTokenizer.FromMergesFile(vocab),
            Dir = dir,
            PretrainClasses = pretrainLabels.Select(ClassNames.Humanise).ToList(),
            NewClasses = labels.Except(pretrainLabels).Select(ClassNames.Humanise).ToList(),
        };
    }
}
