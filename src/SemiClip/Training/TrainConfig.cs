using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using SemiClip.Data;
using SemiClip.Losses;
using YamlDotNet.Serialization;

namespace SemiClip.Training;

/// <summary>Everything a training run needs; read from JSON or YAML, overridden from the command line,
/// and saved resolved in the run folder. Field names are snake_case in files.</summary>
public sealed record TrainConfig
{
    [Description("run folder name under runs_dir (unset: the UTC time)")]
    public string? RunName { get; init; }

    [Description("where run folders go")]
    public string RunsDir { get; init; } = "runs";

    // Model and text
    [Description("built-in architecture (tiny-vit, ViT-B-32, RN50, …) or a model config JSON; ignored with pretrained")]
    public string Model { get; init; } = "tiny-vit";

    [Description("starting weights: a .safetensors file (OpenAI/OpenCLIP/HF names) or a finished run folder")]
    public string? Pretrained { get; init; }

    /// <summary>"openai" (embedded), a merges file, or an HF vocab.json.</summary>
    [Description("tokenizer: openai (embedded), a merges file, or an HF vocab.json")]
    public string Vocab { get; init; } = "openai";

    /// <summary>With <see cref="Pretrained"/>: "auto" reads what the weights record (SemiClip's metadata, an
    /// open_clip_config.json or HF config.json beside them) and otherwise assumes QuickGELU, saying so; "quick_gelu" or
    /// "gelu" override it (open_clip's LAION/DataComp checkpoints are gelu).</summary>
    [Description(
        "with pretrained: auto (the weights' record; else QuickGELU, said) | quick_gelu | gelu (open_clip "
            + "LAION/DataComp)"
    )]
    public string Activation { get; init; } = "auto";

    [Description("token embedding rows for a model from scratch (unset: the architecture's)")]
    public int? VocabSize { get; init; }

    /// <summary>Input resolution and text context (unset: the model's); with pretrained, the position embeddings are
    /// resized.</summary>
    [Description(
        "input resolution (unset: the model's); with pretrained, the position grid is interpolated bicubically"
    )]
    [Range(8, double.PositiveInfinity)]
    public int? ImageSize { get; init; }

    [Description("text context in tokens (unset: the model's); with pretrained, text positions are interpolated")]
    public int? ContextLength { get; init; }

    // Data
    [Description(
        "caption file (CSV/TSV, JSON Lines, Karpathy JSON) or webdataset .tar shards ({000000..000099}.tar, :: joins "
            + "patterns)"
    )]
    public string? TrainData { get; init; }

    [Description("folder image paths are relative to (unset: the caption file's folder)")]
    public string? ImageRoot { get; init; }

    [Description("Karpathy split to train on (other formats have none)")]
    public string? Split { get; init; } = "train";

    [Description("extra unpaired images for S-CLIP: a folder, a list file, or .tar shards (with shard train_data)")]
    public string? Unpaired { get; init; }

    [Description("fraction of images kept paired; the rest become unpaired")]
    [Range(0, 1, MinimumIsExclusive = true)]
    public double LabelRatio { get; init; } = 1.0;

    /// <summary>Which images are paired (the label-ratio split); defaults to <see cref="Seed"/>, so the
    /// paired subset can be held fixed while initialisation and order vary.</summary>
    [Description("which images are paired (unset: seed)")]
    public int? SplitSeed { get; init; }

    [Description("keyword file for S-CLIP's keyword loss, one per line (`semiclip keywords` makes one)")]
    public string? Keywords { get; init; }

    /// <summary>reference: alinlab/s-clip's exact test <c>" k " in " caption "</c>; words: case-insensitive
    /// whole words with punctuation as a boundary ("river." contains "river").</summary>
    [Description(
        "reference (\" k \" in \" caption \", as alinlab/s-clip) or words (whole words, punctuation as a boundary)"
    )]
    public Data.KeywordMatch KeywordMatch { get; init; } = Data.KeywordMatch.Reference;

    [Description("skip and list unreadable images and bad rows instead of stopping")]
    public bool SkipBad { get; init; }

    /// <summary>Before training, every image the run will use is checked: "headers" (finds files that are not
    /// images), "full" (decodes every image, finds truncated ones too), "none", or "auto" (full when decoding every
    /// image is estimated to cost at most a tenth of the run, else headers; Runs.ImageCheckChoice says how).</summary>
    [Description(
        "before training, check every image: auto (full when that costs at most a tenth of the run, else headers), "
            + "headers (files that are not images), full (decode all), none"
    )]
    public string CheckImages { get; init; } = "auto";

    [Description("keep decoded, shrunk images in memory")]
    public bool CacheImages { get; init; } = true;

    /// <summary>Memory budget of the decoded-image cache in MiB; unset: a quarter of the memory available to the
    /// process. Images past the budget are decoded again each time they are drawn.</summary>
    [Description("image cache budget in MiB (unset: a quarter of available memory)")]
    [Range(0, double.PositiveInfinity)]
    public int? CacheImagesMb { get; init; }

    /// <summary>CSV/TSV columns and separator, as open_clip names them (<c>--csv-img-key</c> and so on).</summary>
    [Description("CSV/TSV column with the image path")]
    public string CsvImgKey { get; init; } = "filepath";

    [Description("CSV/TSV column with the caption")]
    public string CsvCaptionKey { get; init; } = "title";

    /// <summary>Unset: tab for .tsv files, comma otherwise.</summary>
    [Description("CSV/TSV separator (unset: tab for .tsv, comma otherwise)")]
    public string? CsvSeparator { get; init; }

    [Description("random horizontal flips (off: flips change meaning for text in figures and maps)")]
    public bool HorizontalFlip { get; init; }

    // Training augmentation (open_clip's names): RandomResizedCrop ranges, colour jitter, random grey-scale.
    [Description("training crop: [min, max] fraction of the image area (RandomResizedCrop scale)")]
    public double[] AugScale { get; init; } = [0.9, 1.0];

    [Description("training crop: [min, max] aspect ratio (RandomResizedCrop ratio)")]
    public double[] AugRatio { get; init; } = [3.0 / 4, 4.0 / 3];

    [Description("training: [brightness, contrast, saturation] jitter strengths (torchvision's ColorJitter; 0: none)")]
    public double[] ColorJitter { get; init; } = [0, 0, 0];

    [Description("training: probability an image is colour-jittered")]
    [Range(0, 1)]
    public double ColorJitterProb { get; init; }

    [Description("training: probability an image is turned grey")]
    [Range(0, 1)]
    public double GrayScaleProb { get; init; }

    [Description(
        "keep in memory what a fully locked image tower computes for each image (lock_image with no group unlocked, "
            + "batch norms frozen, images not augmented: aug_scale and aug_ratio [1, 1], no flip, jitter or grey)"
    )]
    public bool CacheLockedFeatures { get; init; } = true;

    /// <summary>Whether the loader can hand an image over differently from one draw to the next: a crop that is not
    /// the whole image (only scale and ratio exactly 1 always take all of it), a flip, jitter or grey.</summary>
    [JsonIgnore]
    public bool AugmentsImages =>
        AugScale is not [1, 1]
        || AugRatio is not [1, 1]
        || HorizontalFlip
        || ColorJitterProb > 0 && ColorJitter.Any(v => v > 0)
        || GrayScaleProb > 0;

    // Image preprocessing of the model (unset: the starting model's record, else OpenAI's); saved with the model.
    [Description("per-channel mean [R, G, B] images are normalised with (unset: the starting model's, else OpenAI's)")]
    public double[]? ImageMean { get; init; }

    [Description("per-channel std [R, G, B] (unset: the starting model's, else OpenAI's)")]
    public double[]? ImageStd { get; init; }

    [Description("bicubic | bilinear | nearest (unset: the starting model's, else bicubic)")]
    public string? ImageInterpolation { get; init; }

    [Description(
        "shortest (resize + centre crop) | squash | longest (+ pad: keeps figure and tile borders); unset: the model's"
    )]
    public string? ImageResizeMode { get; init; }

    [Description("RGB, or L: every image to grey first (one-channel data); unset: the model's, else RGB")]
    public string? ImageMode { get; init; }

    /// <summary>Samples held by the bounded shuffle when <see cref="TrainData"/> names webdataset shards.</summary>
    [Description("webdataset shards: samples held by the bounded shuffle (memory stays bounded by it)")]
    [Range(1, double.PositiveInfinity)]
    public int ShuffleBuffer { get; init; } = 5000;

    [Description("threads that decode and augment images")]
    [Range(1, double.PositiveInfinity)]
    public int Workers { get; init; } = 2;

    // Objective
    [Description("clip | sclip | softclip | sclip+softclip")]
    public TrainingMethod Method { get; init; } = TrainingMethod.Clip;

    readonly LossConfig _loss = new();

    /// <summary>The <c>loss</c> section. Its method is always <see cref="Method"/> (one field, read through both), so
    /// an objective built from a config nobody validated still trains the method the config names.</summary>
    public LossConfig Loss
    {
        get => _loss.Method == Method ? _loss : _loss with { Method = Method };
        init => _loss = value;
    }

    // Optimisation
    [Description("passes over the paired set (ignored when steps is set)")]
    public int Epochs { get; init; } = 1;

    [Description("optimisation steps (unset: epochs × batches per epoch)")]
    [Range(1, double.PositiveInfinity)]
    public long? Steps { get; init; }

    [Description("images per step; with split, half paired and half unpaired for S-CLIP")]
    [Range(1, double.PositiveInfinity)]
    public int BatchSize { get; init; } = 32;

    /// <summary>"split" (the reference, default): for methods that use unpaired images, <c>batch_size</c> is
    /// the total, half paired and half unpaired, so every method sees the same images per step. "add":
    /// <c>batch_size</c> paired images plus <c>unpaired_batch_size</c> (default the same) unpaired ones.</summary>
    [Description("split (the reference: batch_size is the total) or add (paired plus unpaired_batch_size)")]
    public BatchComposition BatchComposition { get; init; } = BatchComposition.Split;

    [Description("with add: unpaired images per step (unset: batch_size)")]
    [Range(1, double.PositiveInfinity)]
    public int? UnpairedBatchSize { get; init; }

    [Description("gradient accumulation micro-batches per step (negatives still span the whole batch)")]
    [Range(1, double.PositiveInfinity)]
    public int AccumSteps { get; init; } = 1;

    [Description("peak learning rate (AdamW, linear warm-up then cosine)")]
    public double Lr { get; init; } = 5e-4;

    // open_clip's locking (lock_image, lock_text with their groups) and layer-wise learning-rate decay.
    [Description("freeze the image tower (open_clip's --lock-image)")]
    public bool LockImage { get; init; }

    [Description(
        "with lock_image: the top N groups stay trainable (ViT: ln_post + proj, then blocks; ResNet: attnpool, "
            + "layer4, …)"
    )]
    [Range(0, double.PositiveInfinity)]
    public int LockImageUnlockedGroups { get; init; }

    [Description("with lock_image: BatchNorm statistics of the locked groups stay fixed (eval mode)")]
    public bool LockImageFreezeBnStats { get; init; }

    [Description("freeze the text tower (open_clip's --lock-text)")]
    public bool LockText { get; init; }

    [Description("with lock_text: the top N groups stay trainable (ln_final + projection, then blocks)")]
    [Range(0, double.PositiveInfinity)]
    public int LockTextUnlockedLayers { get; init; }

    [Description("with lock_text: LayerNorms stay frozen in the unlocked groups too")]
    public bool LockTextFreezeLayerNorm { get; init; }

    [Description("layer-wise lr decay of the image tower: lr × decay^(groups from the top) (1: off)")]
    [Range(0, 1, MinimumIsExclusive = true)]
    public double ImageLayerDecay { get; init; } = 1.0;

    [Description("layer-wise lr decay of the text tower: lr × decay^(groups from the top) (1: off)")]
    [Range(0, 1, MinimumIsExclusive = true)]
    public double TextLayerDecay { get; init; } = 1.0;

    [Description("AdamW decoupled weight decay (not on gains, biases or logit_scale)")]
    [Range(0, double.PositiveInfinity)]
    public double WeightDecay { get; init; } = 0.2;

    [Description("AdamW β1")]
    [Range(0, 1, MaximumIsExclusive = true)]
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Unset: open_clip's rule, 0.98 / 1e-6 for a ViT image tower and 0.999 / 1e-8 for a ResNet one.</summary>
    [Description("AdamW β2 (unset: 0.98 for a ViT image tower, 0.999 for a ResNet one, as open_clip)")]
    [Range(0, 1, MaximumIsExclusive = true)]
    public double? Beta2 { get; init; }

    [Description("AdamW ε (unset: 1e-6 for ViT, 1e-8 for ResNet)")]
    [Range(0, double.PositiveInfinity, MinimumIsExclusive = true)]
    public double? Eps { get; init; }

    [Description("linear warm-up steps")]
    [Range(0, double.PositiveInfinity)]
    public long WarmupSteps { get; init; } = 50;

    /// <summary>0 (default, as the reference): no gradient clipping.</summary>
    [Description("clip the gradient's global norm (0: no clipping, as the reference)")]
    [Range(0, double.PositiveInfinity)]
    public double GradClipNorm { get; init; }

    [Description("fp32 or bf16 (bf16 weights with float32 master copies and losses)")]
    public Precision Precision { get; init; } = Precision.Fp32;

    [Description(
        "recompute the transformer blocks' activations in the backward pass (open_clip's --grad-checkpointing): "
            + "less memory for one more forward of each block; results are unchanged"
    )]
    public bool GradCheckpointing { get; init; }

    [Description("initialisation, data order, captions drawn and augmentation")]
    public int Seed { get; init; } = 0;

    // Evaluation during training (0 = off): zero-shot on a class dataset and/or retrieval on a caption file.
    [Description("evaluate during training every N epochs (0: never)")]
    [Range(0, double.PositiveInfinity)]
    public int EvalEveryEpochs { get; init; }

    /// <summary>Also evaluate every N steps (0: only by epochs); the few-caption runs peak early, so steps are the
    /// finer clock.</summary>
    [Description("also evaluate every N steps (0: only by epochs)")]
    [Range(0, double.PositiveInfinity)]
    public long EvalEverySteps { get; init; }

    /// <summary>A validation metric (val_zero_shot_top1, val_mean_recall, val_loss, …): the weights of the step where
    /// it was best are kept in the run's best/ folder, with that step recorded.</summary>
    [Description(
        "keep the weights of the best evaluation in best/: val_zero_shot_top1, val_zero_shot_top5, val_mean_recall, "
            + "val_i2t_r1, val_t2i_r1 or val_loss (lower is better)"
    )]
    public string? KeepBest { get; init; }

    [Description("zero-shot data for evaluation during training: a class folder or class CSV")]
    public string? EvalClassification { get; init; }

    [Description("retrieval data for evaluation during training: a caption file")]
    public string? EvalCaptions { get; init; }

    /// <summary>Unset: <see cref="ImageRoot"/> (RSICD's layout: one Karpathy file, one image folder).</summary>
    [Description(
        "folder evaluation image paths are relative to (unset: image_root for eval_captions, the file's folder for "
            + "eval_classification)"
    )]
    public string? EvalImageRoot { get; init; }

    /// <summary>The Karpathy split of <see cref="EvalCaptions"/> that evaluation during training reads: validation,
    /// so that choices made while watching a run never see the test split.</summary>
    [Description("Karpathy split of eval_captions read during training (val: the test split stays unseen)")]
    public string EvalSplit { get; init; } = "val";

    [Description("zero-shot prompt templates: a built-in set name or a file")]
    public string EvalTemplates { get; init; } = "remote-sensing";

    // Bookkeeping
    [Description("steps between checkpoints (0: only the final weights)")]
    [Range(0, double.PositiveInfinity)]
    public long CheckpointEvery { get; init; } = 100;

    [Description(
        "newest checkpoints kept; older ones are deleted once a newer one is written (with 1, a checkpoint "
            + "cut short leaves no older one to resume from)"
    )]
    [Range(1, double.PositiveInfinity)]
    public int KeepCheckpoints { get; init; } = 2;

    [Description("steps between metrics lines")]
    [Range(1, double.PositiveInfinity)]
    public long LogEvery { get; init; } = 10;

    [Description("auto | cpu | cuda | cuda:N")]
    public string Device { get; init; } = "auto";

    [Description(
        "CPU threads for tensor math, set by `semiclip train` (0: TorchSharp's default; library callers set their own)"
    )]
    public int Threads { get; init; }

    /// <summary>The fields the user gave (config file plus overrides), as read; what <c>--resume</c> compares
    /// with the run's saved config. Not part of the saved config.</summary>
    [JsonIgnore]
    public JsonObject? Given { get; init; }

    /// <summary>The config file's path and the line of each field it gave (overridden fields left out), so a problem
    /// found with a value later names the line it is on. Not part of the saved config.</summary>
    [JsonIgnore]
    public ConfigOrigin? Origin { get; init; }

    /// <summary>Fields that only say where and how fast a run computes; they may change on resume.</summary>
    public static readonly IReadOnlySet<string> BookkeepingFields = new HashSet<string>
    {
        "runs_dir",
        "run_name",
        "keep_checkpoints",
        "grad_checkpointing",
        "device",
        "threads",
        "workers",
        "cache_locked_features",
    };

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        // The method's own spelling (sclip+softclip, aliases) first: the first converter that handles a type wins.
        Converters = { new TrainingMethodConverter(), new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Reads a .json/.yaml/.yml file (or defaults when null) and applies key=value overrides (dotted keys
    /// reach nested sections, e.g. loss.caption_weight=0.5). Every problem is reported at once, each naming the file
    /// and line (syntax) or the field (unknown names with a did-you-mean, values of the wrong type).</summary>
    public static TrainConfig Load(string? path, IEnumerable<string>? overrides = null) =>
        Load(path, (overrides ?? Array.Empty<string>()).Select(ParseOverride));

    /// <summary>As <see cref="Load(string?, IEnumerable{string}?)"/>, with overrides already typed (the CLI's own
    /// flags, whose values are never re-parsed: a Windows path stays a path).</summary>
    public static TrainConfig Load(string? path, IEnumerable<(string Field, JsonNode? Value)> overrides)
    {
        if (path is null)
            return Checked(new JsonObject(), overrides, "command line", given: null, origin: null);
        var (root, lines) = ReadFile(path);
        return Checked(root, overrides, path, given: null, new ConfigOrigin(path, lines));
    }

    /// <summary>This config with <c>key=value</c> overrides applied and checked as <see cref="Load(string?,
    /// IEnumerable{string}?)"/> checks them (a program's own settings, then a recipe or a user's <c>--set</c>); the
    /// given fields are this config's plus the overridden ones.</summary>
    public TrainConfig WithOverrides(IEnumerable<string> overrides)
    {
        var typed = overrides.Select(ParseOverride).ToList();
        var given = (JsonObject)(Given?.DeepClone() ?? new JsonObject());
        foreach (var (field, value) in typed)
            SetField(given, field.Trim().Replace('-', '_'), value?.DeepClone());
        return Checked(JsonNode.Parse(ToJson())!.AsObject(), typed, "overrides", Normalised(given), Origin);
    }

    static TrainConfig Checked(
        JsonObject root,
        IEnumerable<(string Field, JsonNode? Value)> overrides,
        string source,
        JsonObject? given,
        ConfigOrigin? origin
    )
    {
        var overridden = new List<string>();
        foreach (var (field, value) in overrides)
        {
            var name = field.Trim().Replace('-', '_');
            SetField(root, name, value);
            overridden.Add(name);
        }
        origin = origin?.Without(overridden);
        root = Normalised(root);
        var problems = ConfigFields.Check(root, JsonOptions);
        if (problems.Count > 0)
        {
            // The values that could not be read are left at their defaults so the settings' bounds are checked too:
            // every problem is said in one run, an ill-typed field not hiding a range error in another.
            var bad = problems.Select(p => p.Field).ToHashSet(StringComparer.Ordinal);
            foreach (var field in bad)
                RemoveField(root, field);
            try
            {
                var rest = root.Deserialize<TrainConfig>(JsonOptions) ?? new TrainConfig();
                TrainConfigValidator.ValidateSettings(rest, startsFromWeights: rest.Pretrained != null);
            }
            catch (SettingsException e)
            {
                problems.AddRange(e.Problems.Where(p => !bad.Contains(p.Field)));
            }
            catch (JsonException) { }
            throw new SettingsException(
                ConfigOrigin.InFileOrder(problems.Select(p => origin?.Locate(p) ?? p)),
                source
            );
        }
        try
        {
            return (root.Deserialize<TrainConfig>(JsonOptions) ?? new TrainConfig()) with
            {
                Given = given ?? (JsonObject)root.DeepClone(),
                Origin = origin,
            };
        }
        catch (JsonException e)
        {
            var field = e.Path?.TrimStart('$', '.') ?? "";
            var problem = SettingProblem.Of(field, IO.JsonErrors.Problem(e));
            throw new SettingsException([origin?.Locate(problem) ?? problem], source);
        }
    }

    static void RemoveField(JsonObject root, string dotted)
    {
        var keys = dotted.Split('.');
        var node = root;
        foreach (var k in keys[..^1])
            if (node[k] is JsonObject child)
                node = child;
            else
                return;
        node.Remove(keys[^1]);
    }

    /// <summary>One <c>key=value</c> override: the value is read as JSON when it is JSON, else as text.</summary>
    public static (string Field, JsonNode? Value) ParseOverride(string text)
    {
        int eq = text.IndexOf('=');
        if (eq <= 0)
            throw new ArgumentException($"override '{text}' is not key=value (for example --set batch_size=64).");
        return (text[..eq].Trim(), ParseScalar(text[(eq + 1)..].Trim()));
    }

    static (JsonObject Root, IReadOnlyDictionary<string, int> Lines) ReadFile(string path)
    {
        if (Directory.Exists(path))
            throw new InvalidDataException($"{path}: is a folder; --config wants a .json or .yaml file.");
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: config file not found.", path);
        var text = File.ReadAllText(path);
        bool yaml =
            path.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase)
            || path.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);
        try
        {
            var lines = yaml ? ConfigSyntax.YamlFieldLines(text, path) : ConfigSyntax.JsonFieldLines(text, path);
            var node = yaml
                ? YamlToJson(text)
                : JsonNode.Parse(
                    text,
                    documentOptions: new JsonDocumentOptions
                    {
                        CommentHandling = JsonCommentHandling.Skip,
                        AllowTrailingCommas = true,
                    }
                );
            return node switch
            {
                null => (new JsonObject(), lines),
                JsonObject o => (o, lines),
                _ => throw new InvalidDataException(
                    $"{path}: the document is not a mapping of config fields (field: value lines)."
                ),
            };
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(
                $"{path}:{IO.JsonErrors.Line(e)}: invalid JSON: {IO.JsonErrors.Problem(e)}."
            );
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            var inner = e.InnerException?.Message ?? "";
            var problem = inner.Contains("same key", StringComparison.Ordinal) ? "a field is given twice"
                : e.InnerException is YamlDotNet.Core.YamlException ie ? StripMark(ie.Message)
                // YamlDotNet's deserializer fails without a description on some malformed flow collections.
                : e.InnerException is InvalidOperationException
                    ? "the text from here on is not field: value lines (is a [ or { left unclosed?)"
                : StripMark(e.Message);
            // The scanner's End is where it found the problem (a tab on line 3 ends a scalar that began on line 2).
            throw new InvalidDataException($"{path}:{e.End.Line}: invalid YAML: {problem}");
        }
    }

    // YamlDotNet prefixes messages with "(Line: 2, Col: 1, Idx: 9) - (Line: …): "; the location is said once, up front.
    static string StripMark(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, @"^\(Line: [^)]*\)( - \(Line: [^)]*\))?: ?", "");

    /// <summary>Field names as files may spell them (<c>batch-size</c>) turned into the canonical snake_case.</summary>
    static JsonObject Normalised(JsonObject o) =>
        new(
            o.Select(kv =>
                KeyValuePair.Create(
                    kv.Key.Replace('-', '_'),
                    kv.Value is JsonObject child ? Normalised(child) : kv.Value?.DeepClone()
                )
            )
        );

    static JsonNode? ParseScalar(string value)
    {
        try
        {
            return JsonNode.Parse(value);
        }
        catch (JsonException)
        {
            // A quoted text that is not valid JSON ("C:\data\x.csv"): the text inside the quotes.
            if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                return JsonValue.Create(value[1..^1]);
            return JsonValue.Create(value);
        }
    }

    static JsonNode? YamlToJson(string yaml)
    {
        var obj = new DeserializerBuilder().Build().Deserialize<object>(yaml);
        var json = new SerializerBuilder().JsonCompatible().Build().Serialize(obj ?? new Dictionary<string, object>());
        return ConvertNumbers(JsonNode.Parse(json));
    }

    // YAML scalars arrive as strings; turn numbers and booleans back into JSON literals.
    static JsonNode? ConvertNumbers(JsonNode? node) =>
        node switch
        {
            JsonObject o => new JsonObject(
                o.Select(kv => KeyValuePair.Create(kv.Key, ConvertNumbers(kv.Value?.DeepClone())))
            ),
            JsonArray a => new JsonArray(a.Select(x => ConvertNumbers(x?.DeepClone())).ToArray()),
            JsonValue v when v.TryGetValue<string>(out var s) => ParseScalar(s) is JsonValue parsed
            && !parsed.TryGetValue<string>(out _)
                ? parsed
                : JsonValue.Create(s),
            _ => node,
        };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>This config's given fields laid over <paramref name="saved"/> (a resumed run's config): what the
    /// user asked for on resume, with everything they did not mention taken from the run.</summary>
    public TrainConfig OverSaved(TrainConfig saved)
    {
        var merged = JsonNode.Parse(saved.ToJson())!.AsObject();
        foreach (var (key, value) in Leaves(Given ?? new JsonObject()))
            SetField(merged, key, value?.DeepClone());
        return (merged.Deserialize<TrainConfig>(JsonOptions) ?? new TrainConfig()) with { Given = Given };
    }

    /// <summary>The given, non-bookkeeping fields whose effective value differs from <paramref name="saved"/>'s:
    /// (field, saved value, new value) as JSON text.</summary>
    public IReadOnlyList<(string Field, string Saved, string Now)> DifferencesFrom(TrainConfig saved)
    {
        var mine = JsonNode.Parse(ToJson())!.AsObject();
        var theirs = JsonNode.Parse(saved.ToJson())!.AsObject();
        var result = new List<(string, string, string)>();
        foreach (var (key, _) in Leaves(Given ?? new JsonObject()))
        {
            if (BookkeepingFields.Contains(key))
                continue;
            JsonNode? At(JsonObject o) =>
                key.Split('.').Aggregate((JsonNode?)o, (n, k) => n is JsonObject obj ? obj[k] : null);
            var (a, b) = (At(theirs), At(mine));
            if (!JsonNode.DeepEquals(a, b))
                result.Add((key, a?.ToJsonString() ?? "null", b?.ToJsonString() ?? "null"));
        }
        return result;
    }

    /// <summary>Every field of a config object as (dotted name, value), nested sections flattened.</summary>
    internal static IEnumerable<(string Key, JsonNode? Value)> Leaves(JsonObject o, string prefix = "")
    {
        foreach (var (k, v) in o)
        {
            var key = prefix + k.Replace('-', '_');
            if (v is JsonObject child)
                foreach (var leaf in Leaves(child, key + "."))
                    yield return leaf;
            else
                yield return (key, v);
        }
    }

    /// <summary>Sets a dotted field (loss.caption_weight) in a config object, making sections as needed.</summary>
    static void SetField(JsonObject root, string dotted, JsonNode? value)
    {
        var keys = dotted.Split('.');
        var node = root;
        foreach (var k in keys[..^1])
        {
            if (node[k] is not JsonObject section)
                node[k] = section = new JsonObject();
            node = section;
        }
        node[keys[^1]] = value;
    }

    [Description("(written by a run, not read) the split seed in effect: split_seed, else seed")]
    public int EffectiveSplitSeed => SplitSeed ?? Seed;

    public Data.Images.Augmentation Augmentation() =>
        new()
        {
            Scale = (AugScale[0], AugScale[1]),
            Ratio = (AugRatio[0], AugRatio[1]),
            Jitter = (ColorJitter[0], ColorJitter[1], ColorJitter[2]),
            JitterProbability = ColorJitterProb,
            GreyProbability = GrayScaleProb,
        };

    /// <summary>The model's preprocessing with the fields this config sets laid over it.</summary>
    public Data.Images.ImagePreprocessing PreprocessingOver(Data.Images.ImagePreprocessing model)
    {
        static (double, double, double) Triple(double[] v) => v.Length == 1 ? (v[0], v[0], v[0]) : (v[0], v[1], v[2]);
        return model with
        {
            Mean = ImageMean is { Length: 1 or 3 } m ? Triple(m) : model.Mean,
            Std = ImageStd is { Length: 1 or 3 } s ? Triple(s) : model.Std,
            Interpolation = ImageInterpolation ?? model.Interpolation,
            ResizeMode = ImageResizeMode ?? model.ResizeMode,
            Mode = ImageMode ?? model.Mode,
        };
    }

    /// <summary>How to read <see cref="TrainData"/>.</summary>
    public Data.CaptionDatasetOptions CaptionOptions() =>
        new()
        {
            ImageRoot = ImageRoot,
            Split = Split,
            ImageColumn = CsvImgKey,
            CaptionColumn = CsvCaptionKey,
            Separator = CsvSeparator,
        };

    /// <summary>open_clip's AdamW defaults by image tower: (β2, ε).</summary>
    public (double Beta2, double Eps) AdamMoments(bool resnetTower) =>
        (Beta2 ?? (resnetTower ? 0.999 : 0.98), Eps ?? (resnetTower ? 1e-8 : 1e-6));

    /// <summary>Paired and unpaired images per step for a method (see <see cref="BatchComposition"/>).</summary>
    public (int Paired, int? Unpaired) StepComposition(bool usesUnpaired) =>
        BatchComposition switch
        {
            BatchComposition.Split when usesUnpaired => (BatchSize / 2, BatchSize - BatchSize / 2),
            _ => (BatchSize, UnpairedBatchSize),
        };
}

/// <summary>Training precision: fp32, or bf16 weights with float32 master copies and losses.</summary>
public enum Precision
{
    Fp32,
    Bf16,
}

/// <summary>How a step's images divide between paired and unpaired (see <see
/// cref="TrainConfig.BatchComposition"/>).</summary>
public enum BatchComposition
{
    Split,
    Add,
}
