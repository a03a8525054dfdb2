using System.Globalization;
using SemiClip.IO;
using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>Which activation a loaded model uses and what said so; <see cref="Assumed"/> when nothing did and
/// OpenAI's QuickGELU was taken, which the user must be told (open_clip's LAION/DataComp weights use GELU).</summary>
public sealed record ActivationOrigin(string Activation, string Source, bool Assumed)
{
    public string Describe(string path) =>
        Assumed
            ? $"{path}: no record of the activation ({Source}): assumed {Activation}, as OpenAI's checkpoints use. "
                + $"open_clip's "
                + "LAION/DataComp weights use gelu: set activation: gelu (--activation gelu) for them."
            : $"{path}: activation {Activation}, from {Source}.";
}

/// <summary>A key-by-key report of why weights do not fit a model.</summary>
public sealed class WeightMismatchException(string message) : Exception(message);

/// <summary>Loads CLIP weights from safetensors in either naming and saves them in either naming.
/// Metadata keys written: <c>semiclip.config</c> (the architecture JSON), <c>semiclip.activation</c>,
/// <c>format</c> = pt.</summary>
public static class ClipCheckpoint
{
    public const string ConfigKey = "semiclip.config";
    public const string ActivationKey = "semiclip.activation";

    public static ClipModel Load(string path, ClipConfig? config = null, string activation = "auto") =>
        Load(path, out _, config, activation);

    /// <summary>open_clip's model_cfg.quick_gelu (absent: false, GELU, as open_clip's own configs mean it).</summary>
    static bool OpenClipQuickGelu(string path)
    {
        try
        {
            var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path));
            var cfg = root?["model_cfg"] ?? throw new InvalidDataException($"{path}: no model_cfg.");
            return cfg["quick_gelu"]?.GetValue<bool>() ?? false;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: not a readable open_clip_config.json ({e.Message}).");
        }
    }

    /// <summary>Builds a model from a safetensors file. Architecture: <paramref name="config"/> if given, else the
    /// config stored in the file, else a Hugging Face config.json beside it, else inferred from shapes. A given config
    /// whose activation disagrees with the file's recorded one is refused: it would silently give wrong features.
    /// <paramref name="activation"/> (auto | quick_gelu | gelu) chooses the activation; auto reads SemiClip's metadata,
    /// then an open_clip_config.json or (HF naming) config.json beside the weights, and otherwise assumes OpenAI's
    /// QuickGELU, which <paramref name="origin"/> then says, so the caller can tell the user.</summary>
    public static ClipModel Load(
        string path,
        out ActivationOrigin origin,
        ClipConfig? config = null,
        string activation = "auto"
    )
    {
        if (activation is not ("auto" or "quick_gelu" or "gelu"))
            throw new ArgumentException($"activation '{activation}' is not auto, quick_gelu or gelu.");
        using var reader = new SafeTensorsReader(path);
        // A training checkpoint (model.* weights beside optim.* state) serves as weights too: its model.* part.
        bool training =
            reader.Names.Count > 0
            && reader.Names.All(n =>
                n.StartsWith("model.", StringComparison.Ordinal) || n.StartsWith("optim.", StringComparison.Ordinal)
            );
        var raw = reader
            .Names.Where(n => !training || n.StartsWith("model.", StringComparison.Ordinal))
            .ToDictionary(n => training ? n["model.".Length..] : n, n => reader.Read(n), StringComparer.Ordinal);
        try
        {
            bool hf = HuggingFaceKeyMap.LooksLikeHuggingFace(raw.Keys);
            var weights = hf ? HuggingFaceKeyMap.ToOpenAi(raw, path) : StripModulePrefix(raw);
            reader.Metadata.TryGetValue(ActivationKey, out var recordedActivation);
            var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
            var hfConfig = Path.Combine(folder, "config.json");
            var openClipConfig = Path.Combine(folder, "open_clip_config.json");

            ClipConfig resolved;
            if (config != null)
                (resolved, origin) = (config, new ActivationOrigin(config.Activation, "the given model config", false));
            else if (reader.Metadata.TryGetValue(ConfigKey, out var json))
                (resolved, origin) = (
                    ClipConfig.Parse(json, $"{path} (metadata)"),
                    new ActivationOrigin("", "SemiClip's metadata", false)
                );
            else
            {
                var shapes = weights.ToDictionary(kv => kv.Key, kv => kv.Value.shape);
                resolved = ArchitectureInference.FromShapes(shapes, quickGelu: recordedActivation != "gelu", path);
                if (recordedActivation != null)
                    origin = new ActivationOrigin("", "SemiClip's metadata", false);
                else if (File.Exists(openClipConfig))
                {
                    resolved = resolved with { QuickGelu = OpenClipQuickGelu(openClipConfig) };
                    origin = new ActivationOrigin("", "open_clip_config.json beside the weights", false);
                }
                else if (hf && File.Exists(hfConfig))
                {
                    resolved = ArchitectureInference.WithHuggingFaceConfig(resolved, hfConfig);
                    origin = new ActivationOrigin("", "config.json (hidden_act) beside the weights", false);
                }
                else
                    origin = new ActivationOrigin("", "nothing beside the weights records it", true);
                // Heads are not in the shapes; every published CLIP has 64-wide heads. Anything else needs its config.
                if (
                    !resolved.Vision.IsResNet && resolved.Vision.Width % resolved.Vision.HeadWidth != 0
                    || resolved.Text.Width % 64 != 0 && !hf
                )
                    throw new InvalidDataException(
                        $"{path}: widths {resolved.Vision.Width} (vision) / {resolved.Text.Width} (text) are not "
                            + "multiples of 64, so the number of attention heads cannot be read off the weights: "
                            + "save them with SemiClip's "
                            + "metadata, or put the HF config.json beside them."
                    );
            }
            if (recordedActivation != null && recordedActivation != resolved.Activation)
                throw new WeightMismatchException(
                    $"{path}: the checkpoint was trained with {recordedActivation} but the config asks for "
                        + $"{resolved.Activation}; "
                        + "loading it so would silently give wrong features. Use a config with quick_gelu = "
                        + (recordedActivation == "quick_gelu" ? "true" : "false")
                        + "."
                );
            if (activation != "auto")
            {
                if (recordedActivation != null && recordedActivation != activation)
                    throw new WeightMismatchException(
                        $"{path}: SemiClip trained these weights with {recordedActivation}; activation "
                            + $"{activation} would give wrong features (leave activation at auto)."
                    );
                resolved = resolved with { QuickGelu = activation == "quick_gelu" };
                origin = new ActivationOrigin("", "the activation setting", false);
            }
            origin = origin with { Activation = resolved.Activation };

            var model = new ClipModel(resolved);
            LoadInto(model, weights, path);
            return model;
        }
        finally
        {
            foreach (var t in raw.Values)
                t.Dispose();
        }
    }

    /// <summary>Copies OpenAI-named <paramref name="weights"/> into <paramref name="model"/>, or throws one
    /// error listing every missing, unexpected and wrong-shaped key.</summary>
    public static void LoadInto(ClipModel model, IReadOnlyDictionary<string, Tensor> weights, string source)
    {
        var target = model.state_dict();
        // OpenAI's .pt files carry three ints beside the weights; BatchNorm counters are optional.
        var ignorable = new HashSet<string> { "input_resolution", "context_length", "vocab_size" };
        var missing = target
            .Keys.Where(k => !weights.ContainsKey(k) && !k.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .ToList();
        var unexpected = weights.Keys.Where(k => !target.ContainsKey(k) && !ignorable.Contains(k)).ToList();
        var wrongShape = target
            .Where(kv => weights.TryGetValue(kv.Key, out var w) && !w.shape.SequenceEqual(kv.Value.shape))
            .Select(kv =>
                $"{kv.Key}: file [{string.Join(", ", weights[kv.Key].shape)}] vs model "
                + $"[{string.Join(", ", kv.Value.shape)}]"
            )
            .ToList();
        if (missing.Count + unexpected.Count + wrongShape.Count > 0)
        {
            var lines = new List<string> { $"{source}: the weights do not fit the model." };
            if (missing.Count > 0)
                lines.Add(
                    $"missing ({missing.Count}): "
                        + $"{string.Join(", ", missing.Take(20))}{(missing.Count > 20 ? ", …" : "")}"
                );
            if (unexpected.Count > 0)
                lines.Add(
                    $"unexpected ({unexpected.Count}): "
                        + $"{string.Join(", ", unexpected.Take(20))}{(unexpected.Count > 20 ? ", …" : "")}"
                );
            if (wrongShape.Count > 0)
                lines.Add($"wrong shape ({wrongShape.Count}): {string.Join("; ", wrongShape.Take(20))}");
            throw new WeightMismatchException(string.Join(Environment.NewLine, lines));
        }
        using var _ = no_grad();
        foreach (var (name, t) in target)
            if (weights.TryGetValue(name, out var w))
                t.copy_(w.to(t.dtype));
    }

    /// <summary>Writes the model's weights (converted to <paramref name="dtype"/> if given) atomically.</summary>
    public static void Save(
        ClipModel model,
        string path,
        WeightNaming naming = WeightNaming.OpenAi,
        ScalarType? dtype = null,
        IReadOnlyDictionary<string, string>? extraMetadata = null
    )
    {
        using var scope = NewDisposeScope();
        var sd = model
            .state_dict()
            .Where(kv => !kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .ToDictionary(
                kv => kv.Key,
                kv => dtype.HasValue && kv.Value.is_floating_point() ? kv.Value.to(dtype.Value) : kv.Value,
                StringComparer.Ordinal
            );
        var named = naming == WeightNaming.HuggingFace ? HuggingFaceKeyMap.FromOpenAi(sd) : sd;
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            [ConfigKey] = model.Config.ToJson(),
            [ActivationKey] = model.Config.Activation,
            ["semiclip.naming"] = naming.ToString(),
            ["semiclip.parameters"] = model.ParameterCount().ToString(CultureInfo.InvariantCulture),
        };
        if (extraMetadata != null)
            foreach (var (k, v) in extraMetadata)
                metadata[k] = v;
        SafeTensorsWriter.Write(path, named, metadata);
    }

    static Dictionary<string, Tensor> StripModulePrefix(Dictionary<string, Tensor> raw) =>
        raw.ToDictionary(
            kv => kv.Key.StartsWith("module.", StringComparison.Ordinal) ? kv.Key["module.".Length..] : kv.Key,
            kv => kv.Value.alias(),
            StringComparer.Ordinal
        );
}
