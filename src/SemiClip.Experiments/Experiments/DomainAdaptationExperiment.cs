using System.Text.Json;
using SemiClip.Data;
using SemiClip.Evaluation;
using SemiClip.Losses;
using SemiClip.Model;
using SemiClip.Runs;
using SemiClip.Synthetic;
using SemiClip.Tokenization;
using SemiClip.Training;
using static TorchSharp.torch;

namespace SemiClip.Experiments;

/// <summary>The paper's setting on the embedded synthetic domains: a tiny CLIP pretrained on generic tabletop
/// photos and on other aerial scenes of half the aerial classes (the real-data benchmark's pretrained regime: the
/// start has seen the domain's kind of images, not the adaptation captions nor all its classes), then adapted to
/// the aerial domain with a fraction of its pairs, and evaluated zero-shot and by retrieval on held-out aerial
/// images, with accuracy on the classes the start saw and on the new ones. Used by <c>semiclip demo</c> and the
/// accuracy benchmark.</summary>
public sealed class DomainAdaptationExperiment
{
    public sealed record Settings
    {
        public string WorkDir { get; init; } = "runs/demo";
        public int AerialTrainPerClass { get; init; } = 100;
        public int AerialTestPerClass { get; init; } = 20;

        /// <summary>Held-out aerial images per class for validation during training (keep_best), apart from the test
        /// images.</summary>
        public int AerialValPerClass { get; init; } = 20;
        public int GenericTrainPerClass { get; init; } = 200;

        /// <summary>Aerial images per pretraining class, drawn apart from the adaptation images.</summary>
        public int AerialPretrainPerClass { get; init; } = 100;

        /// <summary>The aerial classes the start sees while pretraining (every other one).</summary>
        public IReadOnlyList<string> PretrainAerialClasses { get; init; } =
            AerialScenes.Classes.Where((_, i) => i % 2 == 0).ToArray();
        public int ImageSize { get; init; } = 64;
        public string Model { get; init; } = "tiny-vit";
        public int BatchSize { get; init; } = 64;
        public long PretrainSteps { get; init; } = 150;
        public int AdaptEpochs { get; init; } = 12;
        public long? AdaptSteps { get; init; }
        public double Lr { get; init; } = 5e-4;
        public int Workers { get; init; } = 2;
        public string Device { get; init; } = "auto";
        public int Seed { get; init; }
    }

    public sealed record Outcome(
        string Name,
        string Method,
        double LabelRatio,
        int Seed,
        double NoiseFraction,
        double Top1,
        double Top5,
        double MeanRecall,
        double ImageToTextR1,
        double TextToImageR1,
        long Steps,
        double TrainSeconds,
        double SamplesPerSecond
    )
    {
        /// <summary>Mean per-class top-1 over the aerial classes the start saw, and over the others.</summary>
        public double Top1Seen { get; init; }
        public double Top1New { get; init; }

        /// <summary>The step keep_best kept, when this outcome evaluates the kept weights.</summary>
        public long? BestStep { get; init; }

        /// <summary>With keep_best among the settings: the same run evaluated at the step it kept.</summary>
        public Outcome? Best { get; init; }
    }

    public Settings Config { get; }
    public string AerialDir => Path.Combine(Config.WorkDir, "data", "aerial");
    public string GenericDir => Path.Combine(Config.WorkDir, "data", "generic");
    public string VocabPath => Path.Combine(Config.WorkDir, "data", "merges.txt");
    string ValidationCaptions => Path.Combine(AerialDir, "val.jsonl");

    /// <summary>Validation during training on the held-out aerial val images (zero-shot on their class folders,
    /// recall and loss on their captions), for a recipe with <c>keep_best</c>; never the test images.</summary>
    public IReadOnlyList<string> ValidationSettings =>
        [
            $"eval_classification={Path.GetFullPath(Path.Combine(AerialDir, "val"))}",
            $"eval_captions={Path.GetFullPath(ValidationCaptions)}",
        ];

    public string AerialPretrainDir => Path.Combine(Config.WorkDir, "data", "aerial-pretrain");
    public string PretrainFile => Path.Combine(Config.WorkDir, "data", "pretrain.jsonl");
    public string PretrainedRun => Path.Combine(Config.WorkDir, "pretrained-generic-half-aerial");
    public ClipTokenizer Tokenizer { get; private set; } = null!;

    public DomainAdaptationExperiment(Settings settings) => Config = settings;

    /// <summary>Generates both domains and a compact BPE vocabulary, unless already there.</summary>
    public void PrepareData(Action<string>? log = null)
    {
        if (
            !File.Exists(Path.Combine(AerialDir, "test.jsonl"))
            || Config.AerialValPerClass > 0 && !File.Exists(ValidationCaptions)
        )
        {
            log?.Invoke("generating the aerial (specialist) domain");
            SyntheticDataset.Generate(
                AerialDir,
                new SyntheticDataset.Options
                {
                    Domain = SyntheticDomain.Aerial,
                    TrainPerClass = Config.AerialTrainPerClass,
                    TestPerClass = Config.AerialTestPerClass,
                    ValPerClass = Config.AerialValPerClass,
                    ImageSize = Config.ImageSize,
                    Seed = 1,
                }
            );
        }
        if (!File.Exists(Path.Combine(GenericDir, "train.jsonl")))
        {
            log?.Invoke("generating the tabletop (generic) domain");
            SyntheticDataset.Generate(
                GenericDir,
                new SyntheticDataset.Options
                {
                    Domain = SyntheticDomain.Tabletop,
                    TrainPerClass = Config.GenericTrainPerClass,
                    TestPerClass = 10,
                    ImageSize = Config.ImageSize,
                    Seed = 2,
                }
            );
        }
        if (!File.Exists(Path.Combine(AerialPretrainDir, "train.jsonl")))
        {
            log?.Invoke(
                $"generating other aerial scenes of {Config.PretrainAerialClasses.Count} classes for the start"
            );
            SyntheticDataset.Generate(
                AerialPretrainDir,
                new SyntheticDataset.Options
                {
                    Domain = SyntheticDomain.Aerial,
                    Classes = Config.PretrainAerialClasses,
                    TrainPerClass = Config.AerialPretrainPerClass,
                    TestPerClass = 0,
                    ImageSize = Config.ImageSize,
                    Seed = 3,
                }
            );
        }
        if (!File.Exists(PretrainFile))
        {
            // One caption file for the start: both folders' lines, their image paths made relative to data/.
            var lines = new[] { GenericDir, AerialPretrainDir }.SelectMany(dir =>
                File.ReadLines(Path.Combine(dir, "train.jsonl"))
                    .Where(l => l.Length > 0)
                    .Select(l => Rebased(l, Path.GetFileName(dir)))
            );
            IO.AtomicFile.WriteAllText(PretrainFile, string.Join('\n', lines) + "\n");
        }
        if (!File.Exists(VocabPath))
        {
            log?.Invoke("learning a compact BPE vocabulary from the captions");
            var report = new BadInputReport(BadInputPolicy.FailFast);
            var captions = new[] { Path.Combine(AerialDir, "train.jsonl"), PretrainFile }
                .SelectMany(f => CaptionDatasetReader.Read(f, new CaptionDatasetOptions(), report))
                .SelectMany(s => s.Captions);
            BpeTrainer.Save(VocabPath, BpeTrainer.Train(captions, 2000));
        }
        Tokenizer = ClipTokenizer.FromMergesFile(VocabPath);
    }

    static string Rebased(string jsonLine, string folder)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(jsonLine)!.AsObject();
        node["image"] = $"{folder}/{node["image"]!.GetValue<string>()}";
        return node.ToJsonString();
    }

    TrainConfig BaseConfig(string runName) =>
        TrainConfig.Load(null) with
        {
            RunsDir = Config.WorkDir,
            RunName = runName,
            Model = Config.Model,
            Vocab = VocabPath,
            VocabSize = Tokenizer.VocabSize,
            BatchSize = Config.BatchSize,
            Lr = Config.Lr,
            Workers = Config.Workers,
            Device = Config.Device,
            Seed = Config.Seed,
            CheckpointEvery = 1_000_000,
            LogEvery = 10,
            WarmupSteps = 20,
            WeightDecay = 0.1,
            CacheImages = true,
        };

    /// <summary>Pretrains with CLIP once (tabletop photos and half the aerial classes); later calls reuse the cached
    /// weights.</summary>
    public string Pretrain(Action<StepReport>? onStep = null)
    {
        var weights = Path.Combine(PretrainedRun, "model.safetensors");
        if (File.Exists(weights))
            return weights;
        var cfg = BaseConfig(Path.GetFileName(PretrainedRun)) with
        {
            TrainData = PretrainFile,
            Method = TrainingMethod.Clip,
            Steps = Config.PretrainSteps,
            Lr = 1e-3,
            Seed = 0,
        };
        // A pretraining stopped part-way continues from its checkpoint; one stopped before any is started again.
        bool resume = TrainCheckpoint.Latest(Path.Combine(PretrainedRun, "checkpoints")) != null;
        if (!resume && Directory.Exists(PretrainedRun))
            Directory.Delete(PretrainedRun, recursive: true);
        using var session = new TrainingSession(cfg, resume);
        session.Train(onStep);
        return weights;
    }

    /// <summary>Adapts the pretrained model to the aerial domain with one method and evaluates it. <paramref
    /// name="overrides"/> are config settings (a recipe: <c>lock_image=true</c>, <c>loss.caption_weight=0</c>, …); with
    /// <c>keep_best</c> among them the kept step's weights are evaluated too (<see cref="Outcome.Best"/>).</summary>
    public Outcome Adapt(
        string name,
        string method,
        double labelRatio,
        double noiseFraction = 0,
        Action<StepReport>? onStep = null,
        IReadOnlyList<string>? overrides = null
    )
    {
        var pretrained = Pretrain();
        var trainFile = Path.Combine(AerialDir, "train.jsonl");
        if (noiseFraction > 0)
            trainFile = NoisyCaptions(trainFile, noiseFraction, Config.Seed);
        int paired = (int)Math.Round(labelRatio * Config.AerialTrainPerClass * AerialScenes.Classes.Length);
        int batch = Math.Min(Config.BatchSize, Math.Max(8, paired));
        long steps = Config.AdaptSteps
            ?? Math.Max(
                20,
                (long)Config.AdaptEpochs * Config.AerialTrainPerClass * AerialScenes.Classes.Length / Config.BatchSize
            );
        var cfg = BaseConfig(name) with
        {
            TrainData = trainFile,
            Pretrained = pretrained,
            Method = LossConfig.ParseMethod(method),
            LabelRatio = labelRatio,
            BatchSize = batch,
            Keywords = Path.Combine(AerialDir, "keywords.txt"),
            Steps = steps,
        };
        if (overrides is { Count: > 0 })
            cfg = cfg.WithOverrides(overrides);
        // The experiment owns its work folder: a re-run replaces its adaptation runs (they are reproduced, not
        // resumed).
        var runDir = Path.Combine(Config.WorkDir, name);
        if (Directory.Exists(runDir))
            Directory.Delete(runDir, recursive: true);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        double samplesPerSecond = 0;
        using (var session = new TrainingSession(cfg, resume: false))
            session.Train(r =>
            {
                samplesPerSecond = r.SamplesPerSecond;
                onStep?.Invoke(r);
            });
        double seconds = clock.Elapsed.TotalSeconds;
        Outcome Evaluated(string folder, long? bestStep)
        {
            var (zs, rt) = Evaluate(folder);
            return new Outcome(
                name,
                method,
                labelRatio,
                Config.Seed,
                noiseFraction,
                zs.Top1,
                zs.Top5,
                rt.MeanRecall,
                rt.ImageToTextR1,
                rt.TextToImageR1,
                steps,
                seconds,
                samplesPerSecond
            )
            {
                Top1Seen = MeanOver(zs, Config.PretrainAerialClasses),
                Top1New = MeanOver(zs, AerialScenes.Classes.Except(Config.PretrainAerialClasses)),
                BestStep = bestStep,
            };
        }
        var kept = cfg.KeepBest is null ? null : ValidationMetrics.Read(runDir);
        return Evaluated(runDir, null) with
        {
            Best = kept is null ? null : Evaluated(ValidationMetrics.Folder(runDir), kept.Step),
        };
    }

    /// <summary>Mean per-class top-1 over <paramref name="classes"/>.</summary>
    public static double MeanOver(EvaluationReport.ZeroShotSection zs, IEnumerable<string> classes) =>
        classes.Select(c => zs.PerClass.TryGetValue(c, out var v) ? v : zs.PerClass[c.Replace(' ', '_')]).Average();

    /// <summary>Zero-shot accuracy on the aerial test class folders and retrieval on its captions; writes the run's
    /// report.</summary>
    public (EvaluationReport.ZeroShotSection ZeroShot, EvaluationReport.RetrievalSection Retrieval) Evaluate(
        string runFolder
    )
    {
        using var bundle = ModelBundle.Load(runFolder);
        var report = new BadInputReport(BadInputPolicy.FailFast);
        var suite = new EvaluationSuite(bundle, Runtime.DeviceSelector.Parse(Config.Device), workers: Config.Workers);
        var zs = suite.ZeroShot(Path.Combine(AerialDir, "test"), PromptTemplates.RemoteSensing, report);
        var rt = suite.Retrieval(Path.Combine(AerialDir, "test.jsonl"), report);
        ReportWriter.Write(
            runFolder,
            new EvaluationReport
            {
                Model = runFolder,
                ZeroShot = zs,
                Retrieval = rt,
            }
        );
        return (zs, rt);
    }

    /// <summary>A copy of a JSONL caption file where a fraction of images have their captions swapped with
    /// another image's (a derangement within the chosen set), the benchmark's noisy-pair setting.</summary>
    public static string NoisyCaptions(string jsonl, double fraction, int seed)
    {
        var lines = File.ReadAllLines(jsonl).Where(l => l.Length > 0).ToList();
        var docs = lines.Select(l => JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(l)!).ToList();
        var rng = new Random(seed + 77);
        var chosen = Enumerable
            .Range(0, docs.Count)
            .OrderBy(_ => rng.Next())
            .Take((int)Math.Round(fraction * docs.Count))
            .ToArray();
        var captions = chosen.Select(i => docs[i]["captions"]).ToArray();
        for (int k = 0; k < chosen.Length; k++)
            docs[chosen[k]]["captions"] = captions[(k + 1) % chosen.Length];
        var path = Path.Combine(
            Path.GetDirectoryName(jsonl)!,
            $"train-noisy{(int)Math.Round(fraction * 100)}-s{seed}.jsonl"
        );
        IO.AtomicFile.WriteAllText(path, string.Join('\n', docs.Select(d => JsonSerializer.Serialize(d))) + "\n");
        return path;
    }
}
