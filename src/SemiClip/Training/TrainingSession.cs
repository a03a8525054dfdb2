using SemiClip.Data;
using SemiClip.Losses;
using SemiClip.Model;
using SemiClip.Runs;
using SemiClip.Runtime;
using SemiClip.Tokenization;
using static TorchSharp.torch;

namespace SemiClip.Training;

/// <summary>Everything <c>semiclip train</c> does, as a library call: read the data, split paired and
/// unpaired images, build or load the model, train with the configured method, write checkpoints, the
/// resolved config, metrics and the final weights (<c>model.safetensors</c>) into the run folder.
/// With <c>resume</c>, continues from the newest checkpoint of that run folder.</summary>
public sealed class TrainingSession : IDisposable
{
    public TrainConfig Config { get; }
    public RunFolder Run { get; }
    public ClipModel Model { get; }
    public ClipTokenizer Tokenizer { get; }
    public TrainingDataLoader Loader { get; }
    public Trainer Trainer { get; }
    public BadInputReport BadInputs { get; }
    public long StartStep { get; }
    public long TotalSteps { get; }
    LoaderPosition _start;

    public string FinalWeightsPath => Path.Combine(Run.Root, "model.safetensors");

    public TrainingSession(TrainConfig config, bool resume)
    {
        if (config.Threads > 0) set_num_threads(config.Threads);
        var device = DeviceSelector.Parse(config.Device);
        Run = RunFolder.Create(config.RunsDir, config.RunName);
        var checkpoint = resume ? TrainCheckpoint.Latest(Run.CheckpointDir) : null;
        if (resume && checkpoint is null) throw new FileNotFoundException($"{Run.CheckpointDir}: --resume given but no checkpoint found.");
        var resumeState = checkpoint is null ? null : TrainCheckpoint.ReadState(checkpoint);
        if (resumeState != null)
        {
            config = resumeState.TrainConfig with { RunsDir = config.RunsDir, RunName = config.RunName, Device = config.Device, Threads = config.Threads, Workers = config.Workers };
        }
        var lossConfig = config.ToLossConfig().ResolveIntraSource(startsFromWeights: config.Pretrained != null);
        config = config with { Loss = lossConfig };
        Config = config;
        manual_seed(config.Seed);

        BadInputs = new BadInputReport(config.SkipBad ? BadInputPolicy.Skip : BadInputPolicy.FailFast);
        Tokenizer = ClipTokenizer.Load(config.Vocab);
        if (config.Pretrained != null) Model = ClipCheckpoint.Load(config.Pretrained);
        else
        {
            var modelConfig = ClipConfig.Load(config.Model);
            if (config.VocabSize is int vs) modelConfig = modelConfig with { Text = modelConfig.Text with { VocabSize = vs } };
            Model = new ClipModel(modelConfig);
        }
        if (Tokenizer.VocabSize > Model.Config.Text.VocabSize)
            throw new ArgumentException($"tokenizer has {Tokenizer.VocabSize} tokens but the model's vocab_size is {Model.Config.Text.VocabSize} (set vocab_size, or use the model's own vocabulary).");

        var trainData = config.TrainData ?? throw new ArgumentException("train_data is not set (a CSV/TSV, JSONL or Karpathy JSON caption file).");
        var samples = CaptionDatasetReader.Read(trainData, new CaptionDatasetOptions { ImageRoot = config.ImageRoot, Split = config.Split }, BadInputs);
        var split = PairedUnpairedSplit.Create(samples, config.LabelRatio, config.EffectiveSplitSeed);
        var unpaired = new List<string>();
        if (lossConfig.UsesUnpaired)
        {
            unpaired.AddRange(split.Unpaired);
            if (config.Unpaired != null) unpaired.AddRange(ImageFiles.FromFolderOrList(config.Unpaired, BadInputs));
            if (unpaired.Count == 0) throw new ArgumentException($"method {config.Method} needs unpaired images: set label_ratio < 1 or unpaired.");
        }
        Run.LogEvent("data_split", new { split.LabelRatio, split.Seed, paired_images = split.Paired.Count, paired_captions = split.Paired.Sum(s => s.Captions.Count), unpaired_images = unpaired.Count, skipped = BadInputs.Items.Select(b => b.ToString()).ToList() });

        var keywordMatch = KeywordLabeler.ParseMatch(config.KeywordMatch);
        KeywordLabeler? keywords = lossConfig.UsesKeywords && config.Keywords != null ? KeywordLabeler.FromFile(config.Keywords, keywordMatch) : null;
        if (lossConfig.UsesKeywords && keywords is null) lossConfig = lossConfig with { KeywordWeight = 0 };
        var (pairedPerStep, unpairedPerStep) = config.StepComposition(lossConfig.UsesUnpaired);
        var classes = lossConfig.UsesUnpaired ? ClassLabels.From(samples, keywords) : null;
        Loader = new TrainingDataLoader(split.Paired, unpaired, Tokenizer, Model.Config.Text.ContextLength, Model.Config.Vision.ImageSize, keywords,
            new LoaderOptions
            {
                BatchSize = pairedPerStep, UnpairedBatchSize = unpairedPerStep, Workers = config.Workers, Seed = config.Seed,
                CacheImages = config.CacheImages, HorizontalFlip = config.HorizontalFlip,
            }, BadInputs, classes);
        TotalSteps = config.Steps ?? (long)config.Epochs * Loader.BatchesPerEpoch;
        var keywordTokens = keywords is null ? null : Tokenizer.Tokenize(keywords.Keywords.ToList(), Model.Config.Text.ContextLength);
        // SoftCLIP's teacher: a second, frozen copy of the starting weights (never the checkpoint being resumed).
        var teacher = lossConfig.NeedsTeacher ? ClipCheckpoint.Load(config.Pretrained!) : null;
        Trainer = new Trainer(Model, new TrainingObjective(lossConfig), config, device, TotalSteps, keywordTokens, teacher);

        if (resumeState != null)
        {
            TrainCheckpoint.Restore(checkpoint!, Model, Trainer.Optimizer);
            StartStep = resumeState.Step;
            _start = resumeState.Next;
        }
        IO.AtomicFile.WriteAllText(Run.ConfigPath, config.ToJson());   // enums as names, as config files spell them
        IO.AtomicFile.WriteAllText(Path.Combine(Run.Root, "model_config.json"), Model.Config.ToJson());
    }

    LoaderPosition PositionAfter(long step) => new((int)(step / Loader.BatchesPerEpoch), (int)(step % Loader.BatchesPerEpoch));

    /// <summary>Trains to the end and writes the final weights; evaluates every <c>eval_every_epochs</c>.
    /// A run that fails inside LibTorch resumes once by itself from its newest checkpoint (said on standard
    /// error and logged as a <c>native_failure</c> event); because resume is exact, the finished run is the
    /// one an uninterrupted run would have produced. A second native failure ends the run.</summary>
    public void Train(Action<StepReport>? onStep = null)
    {
        long startStep = StartStep;
        var start = _start;
        long evalEvery = Config.EvalEveryEpochs > 0 ? (long)Config.EvalEveryEpochs * Loader.BatchesPerEpoch : 0;
        for (bool recovered = false; ; )
        {
            try
            {
                Trainer.Run(Loader.Batches(start, TotalSteps - startStep), startStep, Run, PositionAfter, report =>
                {
                    onStep?.Invoke(report);
                    if (evalEvery > 0 && report.Step % evalEvery == 0) EvaluateNow(report.Step);
                });
                break;
            }
            catch (Exception e) when (NativeFailure.IsNative(e) && !recovered && TrainCheckpoint.Latest(Run.CheckpointDir) is string checkpoint)
            {
                recovered = true;
                var state = TrainCheckpoint.ReadState(checkpoint);
                TrainCheckpoint.Restore(checkpoint, Model, Trainer.Optimizer);
                (startStep, start) = (state.Step, state.Next);
                var message = NativeFailure.FirstLine(e.Message);
                Console.Error.WriteLine($"semiclip: LibTorch failed ({message}); resuming once from {Path.GetFileName(checkpoint)} (step {state.Step}).");
                Run.LogEvent("native_failure", new { error = message, resumed_from_step = state.Step, checkpoint });
            }
        }
        if (BadInputs.Count > 0) Run.LogEvent("skipped_inputs", BadInputs.Items.Select(b => b.ToString()).ToList());
        ClipCheckpoint.Save(Model, FinalWeightsPath);
    }

    /// <summary>Zero-shot and/or retrieval on the configured evaluation data, logged as kind "eval".</summary>
    public Dictionary<string, double> EvaluateNow(long step)
    {
        var suite = new Evaluation.EvaluationSuite(new ModelBundle(Model, Tokenizer), DeviceSelector.Parse(Config.Device), workers: Config.Workers);
        var metrics = new Dictionary<string, double>();
        if (Config.EvalClassification != null)
        {
            var z = suite.ZeroShot(Config.EvalClassification, Evaluation.PromptTemplates.Load(Config.EvalTemplates), BadInputs);
            metrics["zero_shot_top1"] = z.Top1; metrics["zero_shot_top5"] = z.Top5;
        }
        if (Config.EvalCaptions != null)
        {
            var r = suite.Retrieval(Config.EvalCaptions, BadInputs);
            metrics["i2t_r1"] = r.ImageToTextR1; metrics["t2i_r1"] = r.TextToImageR1; metrics["mean_recall"] = r.MeanRecall;
        }
        if (metrics.Count > 0) Run.LogMetrics(step, metrics, kind: "eval");
        return metrics;
    }

    public void Dispose()
    {
        Trainer.Dispose();
        Loader.Dispose();
        Run.Dispose();
        Model.Dispose();
    }
}
