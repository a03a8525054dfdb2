using System.Text.Json;
using SemiClip.Data;
using SemiClip.Evaluation;
using SemiClip.Model;
using SemiClip.Synthetic;
using SemiClip.Tokenization;
using SemiClip.Training;
using static TorchSharp.torch;

namespace SemiClip.Experiments;

/// <summary>The paper's setting on the embedded synthetic domains: a tiny CLIP pretrained on the generic
/// (tabletop) domain, then adapted to the specialist (aerial) domain with a fraction of its pairs, and
/// evaluated zero-shot and by retrieval on held-out aerial images. Used by <c>semiclip demo</c> and the
/// accuracy benchmark.</summary>
public sealed class DomainAdaptationExperiment
{
    public sealed record Settings
    {
        public string WorkDir { get; init; } = "runs/demo";
        public int AerialTrainPerClass { get; init; } = 100;
        public int AerialTestPerClass { get; init; } = 20;
        public int GenericTrainPerClass { get; init; } = 200;
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

    public sealed record Outcome(string Name, string Method, double LabelRatio, int Seed, double NoiseFraction, double Top1, double Top5, double MeanRecall,
                                 double ImageToTextR1, double TextToImageR1, long Steps, double TrainSeconds, double SamplesPerSecond);

    public Settings Config { get; }
    public string AerialDir => Path.Combine(Config.WorkDir, "data", "aerial");
    public string GenericDir => Path.Combine(Config.WorkDir, "data", "generic");
    public string VocabPath => Path.Combine(Config.WorkDir, "data", "merges.txt");
    public string PretrainedRun => Path.Combine(Config.WorkDir, "pretrained-generic");
    public ClipTokenizer Tokenizer { get; private set; } = null!;

    public DomainAdaptationExperiment(Settings settings) => Config = settings;

    /// <summary>Generates both domains and a compact BPE vocabulary, unless already there.</summary>
    public void PrepareData(Action<string>? log = null)
    {
        if (!File.Exists(Path.Combine(AerialDir, "test.jsonl")))
        {
            log?.Invoke("generating the aerial (specialist) domain");
            SyntheticDataset.Generate(AerialDir, new SyntheticDataset.Options
            {
                Domain = SyntheticDomain.Aerial,
                TrainPerClass = Config.AerialTrainPerClass, TestPerClass = Config.AerialTestPerClass, ImageSize = Config.ImageSize, Seed = 1
            });
        }
        if (!File.Exists(Path.Combine(GenericDir, "train.jsonl")))
        {
            log?.Invoke("generating the tabletop (generic) domain");
            SyntheticDataset.Generate(GenericDir, new SyntheticDataset.Options
            {
                Domain = SyntheticDomain.Tabletop,
                TrainPerClass = Config.GenericTrainPerClass, TestPerClass = 10, ImageSize = Config.ImageSize, Seed = 2
            });
        }
        if (!File.Exists(VocabPath))
        {
            log?.Invoke("learning a compact BPE vocabulary from both domains' captions");
            var report = new BadInputReport(BadInputPolicy.FailFast);
            var captions = new[] { Path.Combine(AerialDir, "train.jsonl"), Path.Combine(GenericDir, "train.jsonl") }
                .SelectMany(f => CaptionDatasetReader.Read(f, new CaptionDatasetOptions(), report)).SelectMany(s => s.Captions);
            BpeTrainer.Save(VocabPath, BpeTrainer.Train(captions, 2000));
        }
        Tokenizer = ClipTokenizer.FromMergesFile(VocabPath);
    }

    TrainConfig BaseConfig(string runName) => TrainConfig.Load(null) with
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

    /// <summary>Pretrains on the generic domain with CLIP once; later calls reuse the cached weights.</summary>
    public string Pretrain(Action<StepReport>? onStep = null)
    {
        var weights = Path.Combine(PretrainedRun, "model.safetensors");
        if (File.Exists(weights)) return weights;
        var cfg = BaseConfig("pretrained-generic") with
        {
            TrainData = Path.Combine(GenericDir, "train.jsonl"),
            Method = "clip",
            Steps = Config.PretrainSteps,
            Lr = 1e-3,
            BatchSize = 64,
            Seed = 0,
        };
        // A pretraining stopped part-way continues from its checkpoint; one stopped before any is started again.
        bool resume = TrainCheckpoint.Latest(Path.Combine(PretrainedRun, "checkpoints")) != null;
        if (!resume && Directory.Exists(PretrainedRun)) Directory.Delete(PretrainedRun, recursive: true);
        using var session = new TrainingSession(cfg, resume);
        session.Train(onStep);
        return weights;
    }

    /// <summary>Adapts the pretrained model to the aerial domain with one method and evaluates it.</summary>
    public Outcome Adapt(string name, string method, double labelRatio, double noiseFraction = 0,
        Action<StepReport>? onStep = null, IReadOnlyList<string>? lossOverrides = null)
    {
        var pretrained = Pretrain();
        var trainFile = Path.Combine(AerialDir, "train.jsonl");
        if (noiseFraction > 0) trainFile = NoisyCaptions(trainFile, noiseFraction, Config.Seed);
        int paired = (int)Math.Round(labelRatio * Config.AerialTrainPerClass * AerialScenes.Classes.Length);
        int batch = Math.Min(Config.BatchSize, Math.Max(8, paired));
        long steps = Config.AdaptSteps ?? Math.Max(20, (long)Config.AdaptEpochs * Config.AerialTrainPerClass * AerialScenes.Classes.Length / Config.BatchSize);
        var cfg = BaseConfig(name) with
        {
            TrainData = trainFile,
            Pretrained = pretrained,
            Method = method,
            LabelRatio = labelRatio,
            BatchSize = batch,
            Keywords = Path.Combine(AerialDir, "keywords.txt"),
            Steps = steps,
        };
        if (lossOverrides is { Count: > 0 })
            cfg = cfg with { Loss = TrainConfig.Load(null, lossOverrides.Select(o => "loss." + o)).Loss };
        // The experiment owns its work folder: a re-run replaces its adaptation runs (they are reproduced, not resumed).
        var runDir = Path.Combine(Config.WorkDir, name);
        if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        double samplesPerSecond = 0;
        using (var session = new TrainingSession(cfg, resume: false))
            session.Train(r => { samplesPerSecond = r.SamplesPerSecond; onStep?.Invoke(r); });
        double seconds = clock.Elapsed.TotalSeconds;
        var (zs, rt) = Evaluate(Path.Combine(Config.WorkDir, name));
        return new Outcome(name, method, labelRatio, Config.Seed, noiseFraction, zs.Top1, zs.Top5, rt.MeanRecall,
            rt.ImageToTextR1, rt.TextToImageR1, steps, seconds, samplesPerSecond);
    }

    /// <summary>Zero-shot accuracy on the aerial test class folders and retrieval on its captions; writes the run's report.</summary>
    public (EvaluationReport.ZeroShotSection ZeroShot, EvaluationReport.RetrievalSection Retrieval) Evaluate(string runFolder)
    {
        using var bundle = ModelBundle.Load(runFolder);
        var report = new BadInputReport(BadInputPolicy.FailFast);
        var suite = new EvaluationSuite(bundle, Runtime.DeviceSelector.Parse(Config.Device), workers: Config.Workers);
        var zs = suite.ZeroShot(Path.Combine(AerialDir, "test"), PromptTemplates.RemoteSensing, report);
        var rt = suite.Retrieval(Path.Combine(AerialDir, "test.jsonl"), report);
        ReportWriter.Write(runFolder, new EvaluationReport { Model = runFolder, ZeroShot = zs, Retrieval = rt });
        return (zs, rt);
    }

    /// <summary>A copy of a JSONL caption file where a fraction of images have their captions swapped with
    /// another image's (a derangement within the chosen set), the benchmark's noisy-pair setting.</summary>
    public static string NoisyCaptions(string jsonl, double fraction, int seed)
    {
        var lines = File.ReadAllLines(jsonl).Where(l => l.Length > 0).ToList();
        var docs = lines.Select(l => JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(l)!).ToList();
        var rng = new Random(seed + 77);
        var chosen = Enumerable.Range(0, docs.Count).OrderBy(_ => rng.Next()).Take((int)Math.Round(fraction * docs.Count)).ToArray();
        var captions = chosen.Select(i => docs[i]["captions"]).ToArray();
        for (int k = 0; k < chosen.Length; k++) docs[chosen[k]]["captions"] = captions[(k + 1) % chosen.Length];
        var path = Path.Combine(Path.GetDirectoryName(jsonl)!, $"train-noisy{(int)Math.Round(fraction * 100)}-s{seed}.jsonl");
        IO.AtomicFile.WriteAllText(path, string.Join('\n', docs.Select(d => JsonSerializer.Serialize(d))) + "\n");
        return path;
    }
}
