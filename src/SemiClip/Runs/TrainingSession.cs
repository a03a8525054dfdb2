using System.Diagnostics;
using SemiClip.Data;
using SemiClip.Data.Images;
using SemiClip.Losses;
using SemiClip.Model;
using SemiClip.Model.Pretrained;
using SemiClip.Runtime;
using SemiClip.Tokenization;
using SemiClip.Training;
using static TorchSharp.torch;

namespace SemiClip.Runs;

/// <summary>Everything <c>semiclip train</c> does, as a library call: read the data, split paired and
/// unpaired images, build or load the model, train with the configured method, write checkpoints, the
/// resolved config, metrics and the final weights (<c>model.safetensors</c>) into the run folder.
/// With <c>resume</c>, continues from the newest checkpoint of that run folder.</summary>
public sealed class TrainingSession : IDisposable
{
    public TrainConfig Config { get; private set; } = null!;
    public RunFolder Run { get; private set; } = null!;
    public ClipModel Model { get; private set; } = null!;
    public ITextTokenizer Tokenizer { get; private set; } = null!;
    public ITrainingLoader Loader { get; private set; } = null!;
    public Trainer Trainer { get; private set; } = null!;
    public BadInputReport BadInputs { get; private set; } = null!;
    public long StartStep { get; private set; }
    public long TotalSteps { get; private set; }

    /// <summary>Settings that are legal but probably not meant (warm-up longer than the run…); logged as
    /// "warning".</summary>
    public IReadOnlyList<string> Warnings { get; private set; } = [];

    /// <summary>What the start said: checkpoints skipped on resume, a run moved aside, empty captions
    /// dropped.</summary>
    public IReadOnlyList<string> Notices => _notices;

    /// <summary>Empty captions dropped while reading the training captions (their images keep their other
    /// captions).</summary>
    public int EmptyCaptions { get; private set; }
    readonly List<string> _notices = new();
    readonly IO.OutputLock _lock;
    LoaderPosition _start;

    public string FinalWeightsPath => Path.Combine(Run.Root, "model.safetensors");

    /// <param name="allowConfigChange">With <paramref name="resume"/>: accept given fields that differ from the run's
    /// saved config (the differences are logged as a <c>config_change</c> event); without it they are refused.</param>
    /// <param name="overwrite">Without <paramref name="resume"/>, an existing run folder is refused; with this it is
    /// moved aside (<c>NAME.replaced-TIME</c>), never deleted.</param> <param name="imageCheckProgress">Observes the
    /// pre-flight image check: (checked, total).</param>
    public TrainingSession(
        TrainConfig config,
        bool resume,
        bool allowConfigChange = false,
        bool overwrite = false,
        Action<long, long>? imageCheckProgress = null
    )
    {
        if (config.RunName != null && !TrainConfigValidator.IsSingleSegment(config.RunName))
            throw new ArgumentException(
                $"config field run_name: '{config.RunName}' is not a plain folder name (no '/', '\\', '.' or "
                    + "'..'): runs live directly under runs_dir."
            );
        var runRoot = RunFolder.PathFor(config.RunsDir, config.RunName);
        // The run's name is locked before anything looks at its folder, so the existence check, the move-aside and
        // every later write belong to this process alone.
        IO.WritableFolder.Require(config.RunsDir, "config field runs_dir"); // the lock file lives there
        _lock = LockRun(runRoot, resume, overwrite);
        try
        {
            Start(config, runRoot, resume, allowConfigChange, overwrite, imageCheckProgress);
        }
        catch
        {
            _lock.Dispose();
            throw;
        }
    }

    static IO.OutputLock LockRun(string runRoot, bool resume, bool overwrite)
    {
        try
        {
            return IO.OutputLock.Acquire(runRoot);
        }
        catch (IO.OutputBusyException e)
        {
            var what = resume
                ? "--resume continues a run only once it has stopped"
                : overwrite
                    ? "--overwrite never moves a live run aside"
                    : "choose another run_name";
            throw new IO.OutputBusyException(
                e.Output,
                e.Holder,
                $"run {Path.GetFileName(runRoot)} is still being written: {e.Message} {Capitalised(what)}; wait for "
                    + "it to end or stop it (Ctrl-C saves a checkpoint to resume from)."
            );
        }
    }

    static string Capitalised(string s) => char.ToUpperInvariant(s[0]) + s[1..];

    void Start(
        TrainConfig config,
        string runRoot,
        bool resume,
        bool allowConfigChange,
        bool overwrite,
        Action<long, long>? imageCheckProgress
    )
    {
        if (!resume && Directory.Exists(runRoot) && !overwrite)
            throw new ArgumentException(
                $"run folder {runRoot} already exists. Continue that run with --resume (run_name "
                    + $"{Path.GetFileName(runRoot)}), choose another run_name, or pass --overwrite to move the old "
                    + $"run aside (it is kept)."
            );
        var (checkpoint, resumeState) = resume ? FindResumePoint(runRoot, _notices) : (null, null);
        IReadOnlyList<(string Field, string Saved, string Now)> changes = [];
        // Every way into a run goes through the validator, and only its result reaches the trainer.
        var validated =
            resumeState != null
                ? Reconcile(config, resumeState.TrainConfig, allowConfigChange, out changes)
                : TrainConfigValidator.Validate(config);
        Config = config = validated.Values;

        // Everything that can fail on the user's input happens before the run folder exists.
        IO.WritableFolder.Require(config.RunsDir, "config field runs_dir");
        BadInputs = new BadInputReport(config.SkipBad ? BadInputPolicy.Skip : BadInputPolicy.FailFast);
        var objective = new TrainingObjective(config.Loss);
        ClipModel? model = null;
        ActivationOrigin? activation = null;
        TrainingData data;
        try
        {
            (Tokenizer, model, activation) = BuildModel(config);
            if (activation is { Assumed: true })
                _notices.Add($"note: {activation.Describe(config.Pretrained!)}");
            data = ReadData(config, objective.Needs, Tokenizer, model, BadInputs, imageCheckProgress, _notices);
        }
        catch
        {
            model?.Dispose();
            throw;
        }
        Model = model;
        Loader = data.Loader;
        EmptyCaptions = data.EmptyCaptions;
        if (EmptyCaptions > 0)
            _notices.Add($"dropped {EmptyCaptions} empty caption(s); their images keep their other captions");

        if (!resume && Directory.Exists(runRoot))
            _notices.Add($"moved the existing run folder aside to {RunFolder.MoveAside(runRoot)}");
        bool newFolder = !Directory.Exists(runRoot);
        Run = new RunFolder(runRoot);
        try
        {
            TotalSteps = config.Steps ?? (long)config.Epochs * Loader.BatchesPerEpoch;
            Warnings = TrainConfigValidator.Warnings(config, TotalSteps);
            // SoftCLIP's teacher: a second, frozen copy of the starting weights (never the checkpoint being resumed).
            var teacher = !objective.Needs.Has(ObjectiveInput.TeacherFeatures) ? null
                : PackagedStart.IsName(config.Pretrained) ? BuildModel(config).Item2
                : ModelResize.To(
                    ClipCheckpoint.Load(config.Pretrained!, activation: config.Activation),
                    config.ImageSize,
                    config.ContextLength
                );
            Trainer = new Trainer(
                Model,
                objective,
                validated,
                DeviceSelector.Parse(config.Device),
                TotalSteps,
                data.KeywordTokens,
                teacher
            );
            if (Trainer.KeepsLockedFeatures is var (images, texts) && (images || texts))
            {
                var towers =
                    images && texts ? "image and text towers are"
                    : images ? "image tower is"
                    : "text tower is";
                _notices.Add(
                    $"the {towers} locked whole: each input's locked features are computed once and kept in memory "
                        + "(cache_locked_features)"
                );
            }
            if (resumeState != null)
            {
                (StartStep, _start) = RestoreFrom(
                    checkpoint!,
                    resumeState,
                    newLearningRateScales: changes.Any(c => c.Field.EndsWith("layer_decay", StringComparison.Ordinal))
                );
                Run.TruncateMetricsAfter(StartStep);
                Run.LogEvent(
                    "resume",
                    new
                    {
                        step = StartStep,
                        checkpoint = Path.GetFileName(checkpoint),
                        method = Losses.LossConfig.MethodName(config.Method),
                    }
                );
                if (changes.Count > 0)
                    Run.LogEvent(
                        "config_change",
                        new
                        {
                            step = StartStep,
                            changes = changes.Select(c => new
                            {
                                field = c.Field,
                                saved = c.Saved,
                                now = c.Now,
                            }),
                        }
                    );
            }
            Run.LogEvent("data_split", data.Split);
            if (activation != null)
                Run.LogEvent(
                    "activation",
                    new
                    {
                        activation = activation.Activation,
                        source = activation.Source,
                        assumed = activation.Assumed,
                    }
                );
            foreach (var w in Warnings)
                Run.LogEvent("warning", new { message = w });
            IO.AtomicFile.WriteAllText(Run.ConfigPath, config.ToJson()); // effective values, enums as names
            IO.AtomicFile.WriteAllText(Path.Combine(Run.Root, "model_config.json"), Model.Config.ToJson());
            if (Tokenizer is WordPieceTokenizer wordPiece)
                ModelBundle.KeepWordPieceVocabulary(wordPiece.VocabularyText, Run.Root);
            else
                ModelBundle.KeepVocabulary(config.Vocab, Run.Root);
        }
        catch
        {
            Run.Dispose();
            Model.Dispose();
            if (newFolder && Directory.Exists(runRoot))
                Directory.Delete(runRoot, recursive: true); // a failed start leaves nothing behind
            throw;
        }
    }

    static (string? Checkpoint, TrainCheckpoint.State? State) FindResumePoint(string runRoot, List<string> notices)
    {
        if (!Directory.Exists(runRoot))
            throw new ArgumentException(
                $"run folder {runRoot} does not exist: nothing to resume (drop --resume to start the run)."
            );
        var dir = Path.Combine(runRoot, "checkpoints");
        var (checkpoint, state, skipped) = TrainCheckpoint.NewestIntact(dir);
        foreach (var s in skipped)
            notices.Add($"skipped checkpoint {s}");
        if (checkpoint is null)
            throw new FileNotFoundException(
                skipped.Count > 0
                    ? $"{dir}: resume asked for, but no intact checkpoint is left ({string.Join("; ", skipped)})."
                    : $"{dir}: resume asked for, but no checkpoint found (the run stopped before its first "
                        + $"checkpoint: start it again "
                        + "with --overwrite)."
            );
        return (checkpoint, state);
    }

    /// <summary>The config a resumed run continues with: the saved one, with the fields the user gave laid over
    /// it. Given fields that change the run (anything but where and how fast it computes) are refused unless
    /// allowed, naming each field with its saved and new value.</summary>
    static ValidatedTrainConfig Reconcile(
        TrainConfig given,
        TrainConfig saved,
        bool allow,
        out IReadOnlyList<(string Field, string Saved, string Now)> differences
    )
    {
        var merged = TrainConfigValidator.Validate(given.OverSaved(saved));
        differences = merged.Values.DifferencesFrom(saved);
        if (differences.Count > 0 && !allow)
            throw new SettingsException(
                differences
                    .Select(d => SettingProblem.Of(d.Field, $"was {d.Saved}, now {d.Now}"))
                    .Append(
                        SettingProblem.Of(
                            "allow_config_change",
                            "drop the settings above to continue the run as it was, or set allow_config_change to "
                                + "continue with the new values"
                        )
                    )
                    .ToList(),
                "resume with settings that differ from the run's saved config"
            );
        return merged;
    }

    static (ITextTokenizer, ClipModel, ActivationOrigin?) BuildModel(TrainConfig config)
    {
        if (PackagedStart.IsName(config.Pretrained))
        {
            // The projections are new: drawn from the run's seed, like a new model's weights.
            using var seeded = new Generator(unchecked((ulong)config.Seed));
            var start = PackagedStart.Build(
                config.Pretrained!,
                seeded,
                config.ContextLength ?? 77,
                config.ImageSize ?? PackagedStart.SourceImageSize
            );
            start.SetPreprocessing(config.PreprocessingOver(start.Config.Preprocess));
            return (PackagedStart.Tokenizer(), start, null);
        }
        ClipModel model;
        ActivationOrigin? origin = null;
        if (config.Pretrained != null)
            model = ModelResize.To(
                ClipCheckpoint.Load(config.Pretrained, out origin, activation: config.Activation),
                config.ImageSize,
                config.ContextLength
            );
        else
        {
            var modelConfig = ClipConfig.Load(config.Model);
            if (config.VocabSize is int vs)
                modelConfig = modelConfig with { Text = modelConfig.Text with { VocabSize = vs } };
            modelConfig = modelConfig with
            {
                Vision = modelConfig.Vision with { ImageSize = config.ImageSize ?? modelConfig.Vision.ImageSize },
                Text = modelConfig.Text with { ContextLength = config.ContextLength ?? modelConfig.Text.ContextLength },
            };
            try
            {
                modelConfig.Validate("config fields image_size / context_length");
            }
            catch (InvalidDataException e)
            {
                throw new ArgumentException(e.Message);
            }
            // A new model's weights come from the run's seed alone, not from whatever drew from LibTorch before.
            using var generator = new Generator(unchecked((ulong)config.Seed));
            model = new ClipModel(modelConfig, generator);
        }
        model.SetPreprocessing(config.PreprocessingOver(model.Config.Preprocess));
        // The text tower decides the tokenizer: CLIP's BPE, or WordPiece from a vocab.txt for a BERT tower.
        var tokenizer = ModelBundle.TokenizerFor(model, config.Vocab);
        if (tokenizer.VocabSize > model.Config.Text.VocabSize)
        {
            model.Dispose();
            throw new SettingsException(
                SettingProblem.Of(
                    "vocab_size",
                    $"the tokenizer has {tokenizer.VocabSize} tokens but the model's token embedding has "
                        + $"{model.Config.Text.VocabSize} (set vocab_size, or use the model's own vocabulary)"
                )
            );
        }
        return (tokenizer, model, origin);
    }

    sealed record TrainingData(
        ITrainingLoader Loader,
        Tensor? KeywordTokens,
        DataSplitEvent Split,
        int EmptyCaptions = 0
    );

    /// <summary>Reads the captions, splits paired from unpaired images, checks every image the run will use (evaluation
    /// data included), reads the keywords and builds the loader. Nothing is written: this runs before the run folder
    /// exists.</summary>
    static TrainingData ReadData(
        TrainConfig config,
        ObjectiveNeeds needs,
        ITextTokenizer tokenizer,
        ClipModel clip,
        BadInputReport badInputs,
        Action<long, long>? imageCheckProgress,
        List<string> notices
    )
    {
        var model = clip.Config;
        bool usesUnpaired = needs.Has(ObjectiveInput.UnpairedImages);
        var keywords = needs.Has(ObjectiveInput.KeywordFeatures)
            ? KeywordLabeler.FromFile(config.Keywords!, config.KeywordMatch)
            : null;
        var keywordTokens = keywords is null
            ? null
            : tokenizer.Tokenize(keywords.Keywords.ToList(), model.Text.ContextLength);
        var (pairedPerStep, unpairedPerStep) = config.StepComposition(usesUnpaired);
        var options = new LoaderOptions
        {
            BatchSize = pairedPerStep,
            UnpairedBatchSize = unpairedPerStep,
            Workers = config.Workers,
            Seed = config.Seed,
            CacheImages = config.CacheImages,
            CacheBudgetBytes = ImageCache.BudgetBytes(config.CacheImagesMb),
            HorizontalFlip = config.HorizontalFlip,
            ShuffleBuffer = config.ShuffleBuffer,
            Preprocessing = model.Preprocess,
            Augmentation = config.Augmentation(),
        };
        var evalImages = EvaluationImages(config, badInputs);
        (ImageCheckDepth, string?) Depth(IReadOnlyList<string> images)
        {
            int perStep = pairedPerStep + (unpairedPerStep ?? 0);
            var (depth, choice) = ImageCheckChoice.For(config, clip, images, pairedPerStep, perStep);
            if (choice != null)
                notices.Add(choice);
            return (depth, choice);
        }
        if (Data.Shards.ShardPattern.IsShards(config.TrainData))
        {
            // Shards were checked when `semiclip shard` packed them; evaluation images are checked here.
            CheckImages(config, evalImages, badInputs, imageCheckProgress, Depth(evalImages));
            var (sharded, summary) = ShardedLoader(
                config,
                usesUnpaired,
                tokenizer,
                model,
                keywords,
                options,
                badInputs
            );
            return new TrainingData(sharded, keywordTokens, summary);
        }

        var stats = new CaptionReadStats();
        var samples = CaptionDatasetReader.Read(config.TrainData!, config.CaptionOptions(), badInputs, stats);
        var extraUnpaired =
            usesUnpaired && config.Unpaired != null
                ? ImageFiles.FromFolderOrList(config.Unpaired, badInputs)
                : new List<string>();
        var toCheck = samples.Select(s => s.ImagePath).Concat(extraUnpaired).Concat(evalImages).ToList();
        var bad = CheckImages(config, toCheck, badInputs, imageCheckProgress, Depth(toCheck));
        samples = samples.Where(s => !bad.Contains(s.ImagePath)).ToList();
        extraUnpaired = extraUnpaired.Where(p => !bad.Contains(p)).ToList();
        var split = PairedUnpairedSplit.Create(samples, config.LabelRatio, config.EffectiveSplitSeed);
        var unpaired = new List<string>();
        if (usesUnpaired)
        {
            unpaired.AddRange(split.Unpaired);
            unpaired.AddRange(extraUnpaired);
            if (unpaired.Count == 0)
                throw new SettingsException(
                    SettingProblem.Of(
                        "label_ratio",
                        $"method {Losses.LossConfig.MethodName(config.Method)} needs unpaired images, and "
                            + $"{config.TrainData} left none (set label_ratio below 1, or unpaired)"
                    )
                );
        }
        if (split.Paired.Count == 0)
            throw new SettingsException(
                SettingProblem.Of("train_data", $"{config.TrainData} has no usable captioned images")
            );
        var splitSummary = new DataSplitEvent
        {
            LabelRatio = split.LabelRatio,
            Seed = split.Seed,
            PairedImages = split.Paired.Count,
            PairedCaptions = split.Paired.Sum(s => s.Captions.Count),
            UnpairedImages = unpaired.Count,
            EmptyCaptionsDropped = stats.EmptyCaptions,
            Skipped = badInputs.Items.Select(b => b.ToString()).ToList(),
        };

        var classes = usesUnpaired ? ClassLabels.From(samples, keywords) : null;
        var loader = new TrainingDataLoader(
            split.Paired,
            unpaired,
            tokenizer,
            model.Text.ContextLength,
            model.Vision.ImageSize,
            keywords,
            options,
            badInputs,
            classes
        );
        return new TrainingData(loader, keywordTokens, splitSummary, stats.EmptyCaptions);
    }

    /// <summary>The images evaluation during training will read; reading them now finds a wrong split, a missing image
    /// root or a broken file before any training is spent.</summary>
    static List<string> EvaluationImages(TrainConfig config, BadInputReport badInputs)
    {
        var images = new List<string>();
        if (config.EvalEveryEpochs <= 0 && config.EvalEverySteps <= 0)
            return images;
        if (config.EvalCaptions != null)
            images.AddRange(
                CaptionDatasetReader
                    .Read(config.EvalCaptions, EvalCaptionOptions(config), badInputs)
                    .Select(s => s.ImagePath)
            );
        if (config.EvalClassification != null)
            images.AddRange(
                ClassificationDataset
                    .Load(config.EvalClassification, badInputs, config.EvalImageRoot)
                    .Items.Select(i => i.ImagePath)
            );
        return images;
    }

    static CaptionDatasetOptions EvalCaptionOptions(TrainConfig config) =>
        config.CaptionOptions() with
        {
            ImageRoot = config.EvalImageRoot ?? config.ImageRoot,
            Split = config.EvalSplit,
        };

    /// <summary>The pre-flight image check: every problem at once; under skip_bad the bad images are listed and left
    /// out.</summary>
    static HashSet<string> CheckImages(
        TrainConfig config,
        List<string> images,
        BadInputReport badInputs,
        Action<long, long>? progress,
        (ImageCheckDepth Depth, string? Choice) check
    ) =>
        ImageCheck.Screen(
            images,
            check.Depth,
            badInputs,
            "Nothing was trained and no run folder was made. Fix or remove them, or set skip_bad (--skip-bad) to "
                + "train without them."
                + (check.Choice is null ? "" : $" ({check.Choice})"),
            config.Workers,
            progress
        );

    /// <summary>train_data names webdataset shards: stream them (unpaired may name shards of images too).</summary>
    static (ITrainingLoader, DataSplitEvent) ShardedLoader(
        TrainConfig config,
        bool usesUnpaired,
        ITextTokenizer tokenizer,
        ClipConfig model,
        KeywordLabeler? keywords,
        LoaderOptions options,
        BadInputReport badInputs
    )
    {
        var unpairedShards = new List<string>();
        if (usesUnpaired && config.Unpaired != null)
        {
            if (!Data.Shards.ShardPattern.IsShards(config.Unpaired))
                throw new ArgumentException(
                    $"config field unpaired: with shards as train_data, unpaired must name .tar shards too (got "
                        + $"{config.Unpaired})."
                );
            unpairedShards = Data.Shards.ShardPattern.ExpandExisting(config.Unpaired);
        }
        var sources = new Data.Shards.ShardSources(
            Data.Shards.ShardPattern.ExpandExisting(config.TrainData!),
            unpairedShards,
            config.LabelRatio,
            config.EffectiveSplitSeed
        );
        var loader = new Data.Shards.ShardedTrainingLoader(
            sources,
            usesUnpaired,
            tokenizer,
            model.Text.ContextLength,
            model.Vision.ImageSize,
            keywords,
            options,
            badInputs
        );
        var summary = new DataSplitEvent
        {
            LabelRatio = config.LabelRatio,
            Seed = config.EffectiveSplitSeed,
            Shards = sources.Shards.Count,
            PairedImages = loader.PairedCount,
            UnpairedImages = usesUnpaired ? loader.UnpairedCount : 0,
            ShuffleBuffer = options.ShuffleBuffer,
        };
        return (loader, summary);
    }

    /// <summary>Trains to the end and writes the final weights; evaluates every <c>eval_every_epochs</c>.
    /// A run that fails inside LibTorch resumes once by itself from its newest checkpoint (said on standard
    /// error and logged as a <c>native_failure</c> event); because resume is exact, the finished run is the
    /// one an uninterrupted run would have produced. A second native failure ends the run.
    /// <paramref name="onStep"/> observes each finished step (progress bars, curves); it runs between steps.
    /// When <paramref name="stop"/> is cancelled (Ctrl-C, SIGTERM), the step under way finishes, a checkpoint is
    /// written and <see cref="TrainingInterruptedException"/> says where. <paramref name="onEvaluation"/> observes
    /// each evaluation's metrics.</summary>
    public void Train(
        Action<StepReport>? onStep = null,
        CancellationToken stop = default,
        Action<long, IReadOnlyDictionary<string, double>>? onEvaluation = null
    )
    {
        long startStep = StartStep;
        var start = _start;
        for (bool recovered = false; ;)
        {
            try
            {
                TrainFrom(startStep, start, onStep, stop, onEvaluation);
                break;
            }
            catch (Exception e)
                when (NativeFailure.IsNative(e)
                    && !recovered
                    && TrainCheckpoint.NewestIntact(Run.CheckpointDir) is (string checkpoint, { } state, _)
                )
            {
                recovered = true;
                (startStep, start) = RestoreFrom(checkpoint, state);
                var message = NativeFailure.FirstLine(e.Message);
                Console.Error.WriteLine(
                    $"semiclip: LibTorch failed ({message}); resuming once from {Path.GetFileName(checkpoint)} (step "
                        + $"{state.Step})."
                );
                Run.LogEvent(
                    "native_failure",
                    new
                    {
                        error = message,
                        resumed_from_step = state.Step,
                        checkpoint,
                    }
                );
            }
        }
        if (BadInputs.Count > 0)
            Run.LogEvent("skipped_inputs", BadInputs.Items.Select(b => b.ToString()).ToList());
        ClipCheckpoint.Save(Model, FinalWeightsPath);
    }

    /// <summary>The loop: one trainer step per batch; between steps, in this order, the observer, the metrics
    /// line, the checkpoint (with the position of the batch that follows), the evaluation and the stop request.
    /// Nothing here calls back into the loop.</summary>
    void TrainFrom(
        long stepsDone,
        LoaderPosition start,
        Action<StepReport>? onStep,
        CancellationToken stop,
        Action<long, IReadOnlyDictionary<string, double>>? onEvaluation
    )
    {
        long evalEvery = Config.EvalEveryEpochs > 0 ? (long)Config.EvalEveryEpochs * Loader.BatchesPerEpoch : 0;
        bool EvaluationDue() =>
            evalEvery > 0 && stepsDone % evalEvery == 0
            || Config.EvalEverySteps > 0 && stepsDone % Config.EvalEverySteps == 0;
        var best = Config.KeepBest is null ? null : ValidationMetrics.Read(Run.Root);
        bool Due(long every) => every > 0 && stepsDone % every == 0 || stepsDone == TotalSteps;
        var clock = Stopwatch.StartNew();
        long samples = 0,
            savedAt = -1;
        var diagnostics = new DiagnosticsAverager();
        LoaderPosition next = start;
        void Save()
        {
            if (savedAt == stepsDone)
                return;
            // The scope frees what the save makes for itself (the support queue's position tensor).
            using (NewDisposeScope())
                TrainCheckpoint.Save(
                    Run.CheckpointDir,
                    stepsDone,
                    next,
                    Model,
                    Trainer.Optimizer,
                    Config,
                    keep: Config.KeepCheckpoints,
                    crossStep: Trainer.CrossStepState()
                );
            _lastCheckpoint = TrainCheckpoint.PathFor(Run.CheckpointDir, stepsDone);
            savedAt = stepsDone;
        }
        using var batches = Loader.Batches(start, TotalSteps - stepsDone).GetEnumerator();
        while (true)
        {
            TrainBatch batch;
            try
            {
                if (!batches.MoveNext())
                    break;
                batch = batches.Current;
            }
            catch (Exception e) when (BadImageIn(e) is { } bad)
            {
                // An image the pre-flight let through (check_images headers sees no truncation): the steps done so
                // far are saved before the run stops, and the message says which file and what to do.
                const string Finds = "--check-images full finds such files before training.";
                if (stepsDone == 0)
                {
                    // Nothing trained and nothing saved: the new run's folder goes, so its name is free again.
                    Run.Dispose();
                    Directory.Delete(Run.Root, recursive: true);
                    throw new InvalidDataException(
                        $"{bad.Location}: {bad.Problem} Training stopped before its first step; no run folder was "
                            + $"kept. Replace or remove the file, or leave it out with --skip-bad; {Finds}",
                        e
                    );
                }
                Save();
                Run.LogEvent("bad_input", new { step = stepsDone, error = bad.ToString() });
                throw new InvalidDataException(
                    $"{bad.Location}: {bad.Problem} Training stopped at step {stepsDone} and saved "
                        + $"{Path.GetFileName(_lastCheckpoint)}. Replace or remove the file and continue with "
                        + $"--resume, or continue without it with --resume --skip-bad --allow-config-change; {Finds}",
                    e
                );
            }
            StepResult result;
            using (batch)
            {
                samples += batch.Images.shape[0] + (batch.Unpaired?.shape[0] ?? 0);
                try
                {
                    result = Trainer.Step(batch, stepsDone);
                }
                catch (TrainingDivergedException e)
                {
                    throw e.After(_lastCheckpoint);
                }
                next = batch.Next;
            }
            stepsDone++;
            diagnostics.Add(result.Diagnostics);
            var report = new StepReport(
                stepsDone,
                TotalSteps,
                result.Losses,
                result.Lr,
                result.LogitScale,
                samples / Math.Max(1e-9, clock.Elapsed.TotalSeconds)
            );
            onStep?.Invoke(report);
            if (Due(Config.LogEvery))
                Log(report, diagnostics.Drain());
            // checkpoint_every 0: never (only the final weights); otherwise every N steps and at the end (so a finished
            // run can be extended).
            if (Config.CheckpointEvery > 0 && (stepsDone % Config.CheckpointEvery == 0 || stepsDone == TotalSteps))
                Save();
            if (EvaluationDue())
            {
                Dictionary<string, double> metrics;
                try
                {
                    metrics = EvaluateNow(stepsDone);
                }
                catch (Exception e) when (!NativeFailure.IsNative(e))
                {
                    Save();
                    Run.LogEvent("eval_failed", new { step = stepsDone, error = e.Message });
                    throw new InvalidOperationException(
                        $"evaluation at step {stepsDone} failed: {e.Message} The run is saved at "
                            + $"{Path.GetFileName(TrainCheckpoint.PathFor(Run.CheckpointDir, stepsDone))}: fix the "
                            + $"eval_* settings and "
                            + "continue it with --resume (and --allow-config-change).",
                        e
                    );
                }
                onEvaluation?.Invoke(stepsDone, metrics);
                if (Config.KeepBest is { } metric && metrics.TryGetValue(metric, out var value))
                {
                    var now = ValidationMetrics.Update(best, metric, value, stepsDone, Model, Run.Root);
                    if (!ReferenceEquals(now, best))
                        Run.LogEvent(
                            "best",
                            new
                            {
                                step = stepsDone,
                                metric,
                                value,
                            }
                        );
                    best = now;
                }
            }
            if (stop.IsCancellationRequested && stepsDone < TotalSteps)
            {
                Save();
                Run.LogEvent("interrupted", new { step = stepsDone });
                throw new TrainingInterruptedException(
                    stepsDone,
                    TrainCheckpoint.PathFor(Run.CheckpointDir, stepsDone)
                );
            }
        }
    }

    string? _lastCheckpoint;

    /// <summary>The bad image behind a loader failure (it may arrive wrapped by the prefetching thread), or
    /// null.</summary>
    static BadInput? BadImageIn(Exception e)
    {
        for (Exception? x = e; x != null; x = x.InnerException)
        {
            if (x is BadInputException bad)
                return bad.Problem;
            if (x is AggregateException { InnerExceptions.Count: > 0 } many)
                return many.InnerExceptions.Select(BadImageIn).FirstOrDefault(b => b != null);
        }
        return null;
    }

    /// <summary>The one way back to a checkpoint (a resume, or the recovery from a native failure): weights, optimiser,
    /// the trainer's cross-step state; returns where the loop continues.</summary>
    (long Step, LoaderPosition Next) RestoreFrom(
        string checkpoint,
        TrainCheckpoint.State state,
        bool newLearningRateScales = false
    )
    {
        TrainCheckpoint.Restore(
            checkpoint,
            Model,
            Trainer.Optimizer,
            newLearningRateScales,
            Trainer.RestoreCrossStepState
        );
        _lastCheckpoint = checkpoint;
        return (state.Step, state.Next);
    }

    /// <summary>One metrics line: the step's loss parts, lr, temperature, throughput, and each objective diagnostic
    /// averaged over the steps since the previous line (as <c>diag_*</c>).</summary>
    void Log(StepReport report, IReadOnlyDictionary<string, double> diagnostics)
    {
        var metrics = new Dictionary<string, double>(report.Losses)
        {
            ["loss"] = report.Losses.Values.Sum(),
            ["lr"] = report.Lr,
            ["logit_scale"] = report.LogitScale,
            ["samples_per_s"] = report.SamplesPerSecond,
        };
        foreach (var (name, mean) in diagnostics)
            metrics["diag_" + name] = mean;
        Run.LogMetrics(report.Step, metrics);
    }

    /// <summary>Zero-shot and/or retrieval on the configured evaluation data, logged as kind "eval".</summary>
    public Dictionary<string, double> EvaluateNow(long step)
    {
        var suite = new Evaluation.EvaluationSuite(
            new ModelBundle(Model, Tokenizer),
            DeviceSelector.Parse(Config.Device),
            workers: Config.Workers
        );
        var metrics = new Dictionary<string, double>();
        if (Config.EvalClassification != null)
        {
            var z = suite.ZeroShot(
                Config.EvalClassification,
                Evaluation.PromptTemplates.Load(Config.EvalTemplates),
                BadInputs,
                Config.EvalImageRoot
            );
            metrics["val_zero_shot_top1"] = z.Top1;
            metrics["val_zero_shot_top5"] = z.Top5;
        }
        if (Config.EvalCaptions != null)
        {
            var options = EvalCaptionOptions(Config);
            var r = suite.Retrieval(Config.EvalCaptions, BadInputs, options.ImageRoot, options.Split, csv: options);
            metrics["val_i2t_r1"] = r.ImageToTextR1;
            metrics["val_t2i_r1"] = r.TextToImageR1;
            metrics["val_mean_recall"] = r.MeanRecall;
            metrics["val_loss"] = ValidationLoss(options);
        }
        if (metrics.Count > 0)
            Run.LogMetrics(step, metrics, kind: "eval");
        return metrics;
    }

    /// <summary>The CLIP contrastive loss on the evaluation captions (each image with its first caption), in batches of
    /// batch_size at the current temperature: the same objective training minimises, on data it never sees.</summary>
    double ValidationLoss(CaptionDatasetOptions options)
    {
        var samples = CaptionDatasetReader.Read(Config.EvalCaptions!, options, BadInputs);
        var embedder = new Evaluation.Embedder(
            Model,
            Tokenizer,
            DeviceSelector.Parse(Config.Device),
            workers: Config.Workers
        );
        using var scope = NewDisposeScope();
        var (images, kept) = embedder.Readable(samples.Select(s => s.ImagePath).ToList(), BadInputs);
        var texts = embedder.EncodeTexts(kept.Select(i => samples[i].Captions[0]).ToList());
        var scale = Model.LogitScaleParameter.detach().to(float32).exp().cpu();
        double sum = 0;
        int batches = 0;
        for (long start = 0; start + 1 < images.shape[0]; start += Config.BatchSize, batches++)
        {
            long n = Math.Min(Config.BatchSize, images.shape[0] - start);
            if (n < 2)
                break; // one pair alone has no negatives
            sum += Losses
                .ClipContrastiveLoss.Compute(images.narrow(0, start, n), texts.narrow(0, start, n), scale)
                .item<float>();
        }
        return batches == 0 ? double.NaN : sum / batches;
    }

    public void Dispose()
    {
        Trainer.Dispose();
        Loader.Dispose();
        Run.Dispose();
        Model.Dispose();
        _lock.Dispose();
    }
}

/// <summary>Running means of named values between two metrics lines.</summary>
sealed class DiagnosticsAverager
{
    readonly Dictionary<string, (double Sum, int Count)> _sums = new();

    public void Add(IReadOnlyDictionary<string, double> values)
    {
        foreach (var (name, value) in values)
        {
            var (sum, count) = _sums.GetValueOrDefault(name);
            _sums[name] = (sum + value, count + 1);
        }
    }

    public IReadOnlyDictionary<string, double> Drain()
    {
        var means = _sums.ToDictionary(kv => kv.Key, kv => kv.Value.Sum / kv.Value.Count);
        _sums.Clear();
        return means;
    }
}

/// <summary>Training stopped on request (Ctrl-C, SIGTERM) after a finished step, with a checkpoint to resume
/// from.</summary>
public sealed class TrainingInterruptedException(long step, string checkpoint)
    : Exception($"training interrupted after step {step}; saved {checkpoint}.")
{
    public long Step { get; } = step;
    public string Checkpoint { get; } = checkpoint;
}

/// <summary>metrics.jsonl's <c>data_split</c> event, one schema whether the captions come from a file or from shards
/// (what a source does not have is left out, never spelled another way).</summary>
public sealed record DataSplitEvent
{
    public double LabelRatio { get; init; }
    public int Seed { get; init; }
    public long PairedImages { get; init; }
    public long? PairedCaptions { get; init; }
    public long UnpairedImages { get; init; }
    public int? EmptyCaptionsDropped { get; init; }
    public IReadOnlyList<string>? Skipped { get; init; }
    public int? Shards { get; init; }
    public int? ShuffleBuffer { get; init; }
}
