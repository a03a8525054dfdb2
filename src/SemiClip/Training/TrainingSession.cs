using System.Diagnostics;
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
    public ITrainingLoader Loader { get; }
    public Trainer Trainer { get; }
    public BadInputReport BadInputs { get; }
    public long StartStep { get; }
    public long TotalSteps { get; }
    LoaderPosition _start;

    public string FinalWeightsPath => Path.Combine(Run.Root, "model.safetensors");

    /// <param name="allowConfigChange">With <paramref name="resume"/>: accept given fields that differ from the
    /// run's saved config (the differences are logged as a <c>config_change</c> event); without it they are refused.</param>
    public TrainingSession(TrainConfig config, bool resume, bool allowConfigChange = false)
    {
        var runRoot = RunFolder.PathFor(config.RunsDir, config.RunName);
        var (checkpoint, resumeState) = resume ? FindResumePoint(runRoot) : (null, null);
        var changes = Array.Empty<(string Field, string Saved, string Now)>() as IReadOnlyList<(string Field, string Saved, string Now)>;
        if (resumeState != null)
            (config, changes) = Reconcile(config, resumeState.TrainConfig, allowConfigChange);
        else config = TrainConfigValidator.Validate(config);
        Config = config;

        bool newFolder = !Directory.Exists(runRoot);
        Run = new RunFolder(runRoot);
        try
        {
            if (config.Threads > 0) set_num_threads(config.Threads);
            manual_seed(config.Seed);
            BadInputs = new BadInputReport(config.SkipBad ? BadInputPolicy.Skip : BadInputPolicy.FailFast);
            (Tokenizer, Model) = BuildModel(config);
            var objective = new TrainingObjective(config.Loss);
            var data = ReadData(config, objective.Needs, Tokenizer, Model.Config, BadInputs, Run);
            Loader = data.Loader;
            TotalSteps = config.Steps ?? (long)config.Epochs * Loader.BatchesPerEpoch;
            // SoftCLIP's teacher: a second, frozen copy of the starting weights (never the checkpoint being resumed).
            var teacher = objective.Needs.Has(ObjectiveInput.TeacherFeatures) ? ClipCheckpoint.Load(config.Pretrained!) : null;
            Trainer = new Trainer(Model, objective, config, DeviceSelector.Parse(config.Device), TotalSteps, data.KeywordTokens, teacher);
            if (resumeState != null)
            {
                TrainCheckpoint.Restore(checkpoint!, Model, Trainer.Optimizer);
                (StartStep, _start) = (resumeState.Step, resumeState.Next);
                if (changes.Count > 0)
                    Run.LogEvent("config_change", new
                    {
                        step = StartStep,
                        changes = changes.Select(c => new { field = c.Field, saved = c.Saved, now = c.Now })
                    });
            }
            IO.AtomicFile.WriteAllText(Run.ConfigPath, config.ToJson());   // effective values, enums as names
            IO.AtomicFile.WriteAllText(Path.Combine(Run.Root, "model_config.json"), Model.Config.ToJson());
            ModelBundle.KeepVocabulary(config.Vocab, Run.Root);
        }
        catch
        {
            Run.Dispose();
            Model?.Dispose();
            if (newFolder && Directory.Exists(runRoot)) Directory.Delete(runRoot, recursive: true); // a failed start leaves nothing behind
            throw;
        }
    }

    static (string? Checkpoint, TrainCheckpoint.State? State) FindResumePoint(string runRoot)
    {
        var dir = Path.Combine(runRoot, "checkpoints");
        var checkpoint = TrainCheckpoint.Latest(dir) ?? throw new FileNotFoundException($"{dir}: resume asked for, but no checkpoint found.");
        return (checkpoint, TrainCheckpoint.ReadState(checkpoint));
    }

    /// <summary>The config a resumed run continues with: the saved one, with the fields the user gave laid over
    /// it. Given fields that change the run (anything but where and how fast it computes) are refused unless
    /// allowed, naming each field with its saved and new value.</summary>
    static (TrainConfig, IReadOnlyList<(string Field, string Saved, string Now)>) Reconcile(TrainConfig given, TrainConfig saved, bool allow)
    {
        var merged = TrainConfigValidator.Validate(given.OverSaved(saved));
        var differences = merged.DifferencesFrom(saved);
        if (differences.Count > 0 && !allow)
            throw new ArgumentException("resume with settings that differ from the run's saved config: " +
                string.Join("; ", differences.Select(d => $"{d.Field} was {d.Saved}, now {d.Now}")) +
                ". Drop them to continue the run as it was, or set allow_config_change to continue with the new values.");
        return (merged, differences);
    }

    static (ClipTokenizer, ClipModel) BuildModel(TrainConfig config)
    {
        var tokenizer = ClipTokenizer.Load(config.Vocab);
        ClipModel model;
        if (config.Pretrained != null) model = ClipCheckpoint.Load(config.Pretrained);
        else
        {
            var modelConfig = ClipConfig.Load(config.Model);
            if (config.VocabSize is int vs) modelConfig = modelConfig with { Text = modelConfig.Text with { VocabSize = vs } };
            model = new ClipModel(modelConfig);
        }
        if (tokenizer.VocabSize > model.Config.Text.VocabSize)
        {
            model.Dispose();
            throw new ArgumentException($"config field vocab_size: the tokenizer has {tokenizer.VocabSize} tokens but the model's token embedding has " +
                                        $"{model.Config.Text.VocabSize} (set vocab_size, or use the model's own vocabulary).");
        }
        return (tokenizer, model);
    }

    sealed record TrainingData(ITrainingLoader Loader, Tensor? KeywordTokens);

    /// <summary>Reads the captions, splits paired from unpaired images, reads the keywords and builds the loader.</summary>
    static TrainingData ReadData(TrainConfig config, ObjectiveNeeds needs, ClipTokenizer tokenizer, ClipConfig model, BadInputReport badInputs, RunFolder run)
    {
        bool usesUnpaired = needs.Has(ObjectiveInput.UnpairedImages);
        var keywords = needs.Has(ObjectiveInput.KeywordFeatures) ? KeywordLabeler.FromFile(config.Keywords!,
            KeywordLabeler.ParseMatch(config.KeywordMatch)) : null;
        var keywordTokens = keywords is null ? null : tokenizer.Tokenize(keywords.Keywords.ToList(), model.Text.ContextLength);
        var (pairedPerStep, unpairedPerStep) = config.StepComposition(usesUnpaired);
        var options = new LoaderOptions
        {
            BatchSize = pairedPerStep, UnpairedBatchSize = unpairedPerStep, Workers = config.Workers, Seed = config.Seed,
            CacheImages = config.CacheImages, CacheBudgetBytes = ImageCache.BudgetBytes(config.CacheImagesMb), HorizontalFlip = config.HorizontalFlip,
            ShuffleBuffer = config.ShuffleBuffer,
        };
        if (Data.Shards.ShardPattern.IsShards(config.TrainData))
            return new TrainingData(ShardedLoader(config, usesUnpaired, tokenizer, model, keywords, options, badInputs, run), keywordTokens);

        var samples = CaptionDatasetReader.Read(config.TrainData!, config.CaptionOptions(), badInputs);
        var split = PairedUnpairedSplit.Create(samples, config.LabelRatio, config.EffectiveSplitSeed);
        var unpaired = new List<string>();
        if (usesUnpaired)
        {
            unpaired.AddRange(split.Unpaired);
            if (config.Unpaired != null) unpaired.AddRange(ImageFiles.FromFolderOrList(config.Unpaired, badInputs));
            if (unpaired.Count == 0) throw new ArgumentException($"config field label_ratio: method {config.Method} " +
                $"needs unpaired images, and {config.TrainData} left none (set label_ratio below 1, or unpaired).");
        }
        run.LogEvent("data_split", new
        {
            split.LabelRatio, split.Seed, paired_images = split.Paired.Count,
            paired_captions = split.Paired.Sum(s => s.Captions.Count), unpaired_images = unpaired.Count,
            skipped = badInputs.Items.Select(b => b.ToString()).ToList()
        });

        var classes = usesUnpaired ? ClassLabels.From(samples, keywords) : null;
        var loader = new TrainingDataLoader(split.Paired, unpaired, tokenizer, model.Text.ContextLength, model.Vision.ImageSize, keywords,
            options, badInputs, classes);
        return new TrainingData(loader, keywordTokens);
    }

    /// <summary>train_data names webdataset shards: stream them (unpaired may name shards of images too).</summary>
    static ITrainingLoader ShardedLoader(TrainConfig config, bool usesUnpaired, ClipTokenizer tokenizer, ClipConfig model, KeywordLabeler? keywords,
                                         LoaderOptions options, BadInputReport badInputs, RunFolder run)
    {
        var unpairedShards = new List<string>();
        if (usesUnpaired && config.Unpaired != null)
        {
            if (!Data.Shards.ShardPattern.IsShards(config.Unpaired))
                throw new ArgumentException($"config field unpaired: with shards as train_data, unpaired must name .tar shards too (got {config.Unpaired}).");
            unpairedShards = Data.Shards.ShardPattern.ExpandExisting(config.Unpaired);
        }
        var sources = new Data.Shards.ShardSources(Data.Shards.ShardPattern.ExpandExisting(config.TrainData!), unpairedShards,
                                                   config.LabelRatio, config.EffectiveSplitSeed);
        var loader = new Data.Shards.ShardedTrainingLoader(sources, usesUnpaired, tokenizer, model.Text.ContextLength, model.Vision.ImageSize,
                                                           keywords, options, badInputs);
        run.LogEvent("data_split", new
        {
            label_ratio = config.LabelRatio, seed = config.EffectiveSplitSeed, shards = sources.Shards.Count, paired_images = loader.PairedCount,
            unpaired_images = usesUnpaired ? loader.UnpairedCount : 0, shuffle_buffer = options.ShuffleBuffer,
        });
        return loader;
    }

    /// <summary>Trains to the end and writes the final weights; evaluates every <c>eval_every_epochs</c>.
    /// A run that fails inside LibTorch resumes once by itself from its newest checkpoint (said on standard
    /// error and logged as a <c>native_failure</c> event); because resume is exact, the finished run is the
    /// one an uninterrupted run would have produced. A second native failure ends the run.
    /// <paramref name="onStep"/> observes each finished step (progress bars, curves); it runs between steps.</summary>
    public void Train(Action<StepReport>? onStep = null)
    {
        long startStep = StartStep;
        var start = _start;
        for (bool recovered = false; ;)
        {
            try
            {
                TrainFrom(startStep, start, onStep);
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

    /// <summary>The loop: one trainer step per batch; between steps, in this order, the observer, the metrics
    /// line, the checkpoint (with the position of the batch that follows) and the evaluation. Nothing here calls
    /// back into the loop.</summary>
    void TrainFrom(long stepsDone, LoaderPosition start, Action<StepReport>? onStep)
    {
        long evalEvery = Config.EvalEveryEpochs > 0 ? (long)Config.EvalEveryEpochs * Loader.BatchesPerEpoch : 0;
        bool Due(long every) => stepsDone % Math.Max(1, every) == 0 || stepsDone == TotalSteps;
        var clock = Stopwatch.StartNew();
        long samples = 0;
        foreach (var batch in Loader.Batches(start, TotalSteps - stepsDone))
        {
            Dictionary<string, double> parts;
            LoaderPosition next;
            using (batch)
            {
                samples += batch.Images.shape[0] + (batch.Unpaired?.shape[0] ?? 0);
                parts = Trainer.Step(batch, stepsDone);
                next = batch.Next;
            }
            stepsDone++;
            var report = Trainer.Report(stepsDone, parts, samples / Math.Max(1e-9, clock.Elapsed.TotalSeconds));
            onStep?.Invoke(report);
            if (Due(Config.LogEvery)) Trainer.Log(Run, report);
            if (Due(Config.CheckpointEvery)) Trainer.SaveCheckpoint(Run, stepsDone, next);
            if (evalEvery > 0 && stepsDone % evalEvery == 0) EvaluateNow(stepsDone);
        }
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
            var r = suite.Retrieval(Config.EvalCaptions, BadInputs, csv: Config.CaptionOptions() with { ImageRoot = null, Split = "test" });
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
