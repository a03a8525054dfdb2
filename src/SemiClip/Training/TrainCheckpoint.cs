using System.Globalization;
using System.Text.Json;
using SemiClip.Data;
using SemiClip.IO;
using SemiClip.Model;
using static TorchSharp.torch;

namespace SemiClip.Training;

/// <summary>A resumable training checkpoint: model weights (<c>model.*</c>, OpenAI naming), optimiser
/// state (<c>optim.*</c>), and in metadata the step, the loader position, the model config and the
/// resolved training config, and the trainer's cross-step state (S-CLIP's support queue, <c>support.*</c>). Written
/// atomically (temporary file, then rename). The loader and the learning-rate schedule are pure functions of
/// (seed, step), so nothing else is needed to continue bit-identically.</summary>
public static class TrainCheckpoint
{
    const string StepKey = "semiclip.train.step",
        EpochKey = "semiclip.train.epoch",
        BatchKey = "semiclip.train.batch",
        ConfigKey = "semiclip.train.config";
    const string PairedSkippedKey = "semiclip.train.paired_skipped",
        UnpairedSkippedKey = "semiclip.train.unpaired_skipped";

    public static string PathFor(string dir, long step) =>
        Path.Combine(dir, $"step-{step.ToString("D8", CultureInfo.InvariantCulture)}.safetensors");

    public static void Save(
        string dir,
        long step,
        LoaderPosition next,
        ClipModel model,
        AdamW optimizer,
        TrainConfig config,
        int keep = 2,
        IEnumerable<KeyValuePair<string, Tensor>>? crossStep = null
    )
    {
        var tensors = model
            .state_dict()
            .Where(kv => !kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .Select(kv => KeyValuePair.Create("model." + kv.Key, kv.Value))
            .Concat(optimizer.StateTensors())
            .Concat(crossStep ?? []);
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            [ClipCheckpoint.ConfigKey] = model.Config.ToJson(),
            [ClipCheckpoint.ActivationKey] = model.Config.Activation,
            [StepKey] = step.ToString(CultureInfo.InvariantCulture),
            [EpochKey] = next.Epoch.ToString(CultureInfo.InvariantCulture),
            [BatchKey] = next.Batch.ToString(CultureInfo.InvariantCulture),
            [ConfigKey] = config.ToJson(),
            [PairedSkippedKey] = next.PairedSkipped.ToString(CultureInfo.InvariantCulture),
            [UnpairedSkippedKey] = next.UnpairedSkipped.ToString(CultureInfo.InvariantCulture),
        };
        SafeTensorsWriter.Write(PathFor(dir, step), tensors, metadata);
        foreach (var old in List(dir).SkipLast(keep))
            File.Delete(old);
    }

    public static IReadOnlyList<string> List(string dir) =>
        Directory.Exists(dir)
            ? Directory.GetFiles(dir, "step-*.safetensors").OrderBy(f => f, StringComparer.Ordinal).ToList()
            : Array.Empty<string>();

    public static string? Latest(string dir) => List(dir).LastOrDefault();

    /// <summary>The newest checkpoint that opens and reads whole (a file cut short by a full disk or a crash during
    /// the rename's copy is passed over), with the ones skipped and why.</summary>
    public static (string? Path, State? State, IReadOnlyList<string> Skipped) NewestIntact(string dir)
    {
        var skipped = new List<string>();
        foreach (var path in List(dir).Reverse())
        {
            try
            {
                return (path, ReadState(path), skipped);
            }
            catch (Exception e)
                when (e
                        is SafeTensorsFormatException
                            or InvalidDataException
                            or JsonException
                            or FormatException
                            or KeyNotFoundException
                            or IOException
                            or ArgumentException
                )
            {
                skipped.Add(
                    $"{System.IO.Path.GetFileName(path)} "
                        + $"({e.Message.Replace(path + ": ", "", StringComparison.Ordinal)})"
                );
            }
        }
        return (null, null, skipped);
    }

    public sealed record State(long Step, LoaderPosition Next, ClipConfig ModelConfig, TrainConfig TrainConfig);

    public static State ReadState(string path)
    {
        using var r = new SafeTensorsReader(path);
        string Get(string key) =>
            r.Metadata.TryGetValue(key, out var v)
                ? v
                : throw new InvalidDataException($"{path}: not a training checkpoint (metadata '{key}' missing).");
        long Optional(string key) =>
            // older checkpoints
            r.Metadata.TryGetValue(key, out var v) ? long.Parse(v, CultureInfo.InvariantCulture) : 0;
        return new State(
            long.Parse(Get(StepKey), CultureInfo.InvariantCulture),
            new LoaderPosition(
                int.Parse(Get(EpochKey), CultureInfo.InvariantCulture),
                int.Parse(Get(BatchKey), CultureInfo.InvariantCulture)
            )
            {
                PairedSkipped = Optional(PairedSkippedKey),
                UnpairedSkipped = Optional(UnpairedSkippedKey),
            },
            ClipConfig.Parse(Get(ClipCheckpoint.ConfigKey), path),
            JsonSerializer.Deserialize<TrainConfig>(Get(ConfigKey), TrainConfig.JsonOptions)!
        );
    }

    public static void Restore(
        string path,
        ClipModel model,
        AdamW optimizer,
        bool newLearningRateScales = false,
        Action<Func<string, Tensor?>>? restoreCrossStep = null
    )
    {
        using var r = new SafeTensorsReader(path);
        var weights = r
            .Names.Where(n => n.StartsWith("model.", StringComparison.Ordinal))
            .ToDictionary(n => n["model.".Length..], n => r.Read(n), StringComparer.Ordinal);
        try
        {
            ClipCheckpoint.LoadInto(model, weights, path);
        }
        finally
        {
            foreach (var t in weights.Values)
                t.Dispose();
        }
        var step = long.Parse(r.Metadata[StepKey], CultureInfo.InvariantCulture);
        optimizer.LoadState(name => r.Contains(name) ? r.Read(name) : null, step, path, newLearningRateScales);
        restoreCrossStep?.Invoke(name => r.Contains(name) ? r.Read(name) : null);
    }
}
