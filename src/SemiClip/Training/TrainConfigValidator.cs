using SemiClip.Losses;
using SemiClip.Model;
using SemiClip.Runtime;

namespace SemiClip.Training;

/// <summary>Checks a whole training config before anything is written or read: every error names the config
/// field (as files spell it) and says how to fix it, so a failed start leaves no run folder behind. Returns
/// the config with its effective values filled in (the method's loss section, the intra-modal source, a
/// <c>pretrained</c> run folder resolved to its weights file), which is what <c>config.json</c> records.</summary>
public static class TrainConfigValidator
{
    public static TrainConfig Validate(TrainConfig c)
    {
        var loss = c.ToLossConfig(); // throws for an unknown method, naming the accepted ones
        Require(c.Precision is "fp32" or "bf16", "precision", $"'{c.Precision}' is not fp32 or bf16");
        Require(c.BatchComposition is "split" or "add", "batch_composition", $"'{c.BatchComposition}' is not split or add");
        Require(c.BatchSize >= 1, "batch_size", $"must be at least 1 (got {c.BatchSize})");
        Require(!(loss.UsesUnpaired && c.BatchComposition == "split" && c.BatchSize < 2), "batch_size",
            $"must be at least 2 for method {c.Method} with batch_composition split (half paired, half unpaired)");
        Require(c.UnpairedBatchSize is null or >= 1, "unpaired_batch_size", $"must be at least 1 (got {c.UnpairedBatchSize})");
        Require(c.AccumSteps >= 1, "accum_steps", $"must be at least 1 (got {c.AccumSteps})");
        Require(c.AccumSteps == 1 || c.BatchSize % c.AccumSteps == 0, "accum_steps", $"{c.AccumSteps} does not divide batch_size {c.BatchSize}");
        Require(c.LabelRatio is > 0 and <= 1, "label_ratio", $"must be in (0, 1] (got {c.LabelRatio})");
        Require(c.Steps is null or >= 1, "steps", $"must be at least 1 (got {c.Steps})");
        Require(c.Steps is not null || c.Epochs >= 1, "epochs", $"must be at least 1 (got {c.Epochs})");
        Require(c.Lr > 0 && double.IsFinite(c.Lr), "lr", $"must be a positive number (got {c.Lr})");
        Require(c.WeightDecay >= 0, "weight_decay", $"must not be negative (got {c.WeightDecay})");
        Require(c.WarmupSteps >= 0, "warmup_steps", $"must not be negative (got {c.WarmupSteps})");
        Require(c.GradClipNorm >= 0, "grad_clip_norm", $"must not be negative (got {c.GradClipNorm})");
        Require(c.Workers >= 0, "workers", $"must not be negative (got {c.Workers})");
        Require(c.CheckpointEvery >= 0, "checkpoint_every", $"must not be negative (got {c.CheckpointEvery})");
        Require(c.LogEvery >= 1, "log_every", $"must be at least 1 (got {c.LogEvery})");
        Require(c.CacheImagesMb is null or >= 0, "cache_images_mb", $"must not be negative (got {c.CacheImagesMb})");
        Require(c.CsvSeparator is null || c.CsvSeparator.Length == 1, "csv_separator", $"must be one character (got '{c.CsvSeparator}')");
        Require(loss.SoftAlpha is >= 0 and <= 1, "loss.soft_alpha", $"must be in [0, 1] (got {loss.SoftAlpha})");
        Require(loss.SoftTemperature > 0, "loss.soft_temperature", $"must be positive (got {loss.SoftTemperature})");
        Require(loss.SupportQueueSize >= 0, "loss.support_queue_size", $"must not be negative (got {loss.SupportQueueSize})");
        Require(loss.PseudoLabelKeep is > 0 and <= 1, "loss.pseudo_label_keep", $"must be in (0, 1] (got {loss.PseudoLabelKeep})");
        Require(loss.SinkhornEpsilon >= 0 && double.IsFinite(loss.SinkhornEpsilon), "loss.sinkhorn_epsilon",
            $"must be 0 (1/logit scale) or positive (got {loss.SinkhornEpsilon})");
        try { Data.KeywordLabeler.ParseMatch(c.KeywordMatch); }
        catch (ArgumentException e) { throw Field("keyword_match", e.Message); }
        try { DeviceSelector.Parse(c.Device); }
        catch (ArgumentException e) { throw Field("device", e.Message); }

        if (Data.Shards.ShardPattern.IsShards(c.TrainData))
        {
            try { Data.Shards.ShardPattern.ExpandExisting(c.TrainData!); }
            catch (Exception e) when (e is ArgumentException or FileNotFoundException) { throw Field("train_data", e.Message.TrimEnd('.')); }
            Require(c.ShuffleBuffer >= 1, "shuffle_buffer", $"must be at least 1 (got {c.ShuffleBuffer})");
        }
        else RequireFile(c.TrainData, "train_data", "a CSV/TSV, JSONL or Karpathy JSON caption file, or webdataset .tar shards", required: true);
        RequireFolder(c.ImageRoot, "image_root");
        if (!Data.Shards.ShardPattern.IsShards(c.Unpaired))
            RequireFile(c.Unpaired, "unpaired", "an image folder, a list of image paths or .tar shards", orFolder: true);
        RequireFile(c.Keywords, "keywords", "a keyword file, one per line");
        RequireFile(c.EvalClassification, "eval_classification", "a class folder or a class CSV", orFolder: true);
        RequireFile(c.EvalCaptions, "eval_captions", "a caption file");
        if (!c.Vocab.Equals("openai", StringComparison.OrdinalIgnoreCase)) RequireFile(c.Vocab, "vocab", "\"openai\", a merges file or an HF vocab.json");
        var pretrained = c.Pretrained is null ? null : ResolveWeights(c.Pretrained, "pretrained");
        if (pretrained is null && !File.Exists(c.Model) && !ClipConfig.BuiltInNames.Contains(c.Model))
            throw Field("model", $"'{c.Model}' is not a model config file nor one of {string.Join(", ", ClipConfig.BuiltInNames)}");

        if (loss.UsesUnpaired && c.LabelRatio >= 1 && c.Unpaired is null)
            throw Field("label_ratio", $"method {c.Method} needs unpaired images: set label_ratio below 1, or unpaired: FOLDER_OR_LIST");
        if (loss.UsesKeywords && loss.KeywordWeight > 0 && c.Keywords is null)
            throw Field("keywords",
                $"method {c.Method} trains keyword pseudo-labels (loss.keyword_weight = {loss.KeywordWeight}) but no keyword file is set: " +
                                    "set keywords: FILE (one keyword per line, e.g. the class names; `semiclip keywords` extracts them from captions), " +
                                    "or set loss.keyword_weight=0 to train without them");
        loss = loss.ResolveIntraSource(startsFromWeights: pretrained != null);
        return c with { Loss = loss, Pretrained = pretrained };
    }

    /// <summary>A weights file, or a run folder's <c>model.safetensors</c>.</summary>
    public static string ResolveWeights(string path, string field)
    {
        if (Directory.Exists(path))
        {
            var weights = Path.Combine(path, "model.safetensors");
            if (!File.Exists(weights)) throw Field(field,
                $"{path} is a folder without model.safetensors (a run folder whose training finished, or a .safetensors file)");
            return weights;
        }
        if (!File.Exists(path)) throw Field(field, $"{path} not found (a .safetensors file or a run folder)");
        return path;
    }

    static void Require(bool ok, string field, string problem)
    {
        if (!ok) throw Field(field, problem);
    }

    static ArgumentException Field(string field, string problem) => new($"config field {field}: {problem}.");

    static void RequireFile(string? path, string field, string what, bool required = false, bool orFolder = false)
    {
        if (path is null)
        {
            if (required) throw Field(field, $"not set ({what})");
            return;
        }
        if (!File.Exists(path) && !(orFolder && Directory.Exists(path))) throw Field(field, $"{path} not found ({what})");
    }

    static void RequireFolder(string? path, string field)
    {
        if (path != null && !Directory.Exists(path)) throw Field(field, $"folder {path} not found");
    }
}
