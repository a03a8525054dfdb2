using System.Globalization;
using SemiClip.IO;
using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>A key-by-key report of why weights do not fit a model.</summary>
public sealed class WeightMismatchException(string message) : Exception(message);

/// <summary>Loads CLIP weights from safetensors in either naming and saves them in either naming.
/// Metadata keys written: <c>semiclip.config</c> (the architecture JSON), <c>semiclip.activation</c>,
/// <c>format</c> = pt.</summary>
public static class ClipCheckpoint
{
    public const string ConfigKey = "semiclip.config";
    public const string ActivationKey = "semiclip.activation";

    /// <summary>Builds a model from a safetensors file. Architecture: <paramref name="config"/> if given,
    /// else the config stored in the file, else a Hugging Face config.json beside it, else inferred from
    /// shapes (QuickGELU assumed, as for OpenAI's own checkpoints). A given config whose activation
    /// disagrees with the file's recorded one is refused: it would silently give wrong features.</summary>
    public static ClipModel Load(string path, ClipConfig? config = null)
    {
        using var reader = new SafeTensorsReader(path);
        // A training checkpoint (model.* weights beside optim.* state) serves as weights too: its model.* part.
        bool training = reader.Names.Count > 0 && reader.Names.All(n => n.StartsWith("model.", StringComparison.Ordinal)
                                                                  || n.StartsWith("optim.", StringComparison.Ordinal));
        var raw = reader.Names.Where(n => !training || n.StartsWith("model.", StringComparison.Ordinal))
            .ToDictionary(n => training ? n["model.".Length..] : n, n => reader.Read(n), StringComparer.Ordinal);
        try
        {
            bool hf = HuggingFaceKeyMap.LooksLikeHuggingFace(raw.Keys);
            var weights = hf ? HuggingFaceKeyMap.ToOpenAi(raw, path) : StripModulePrefix(raw);
            reader.Metadata.TryGetValue(ActivationKey, out var recordedActivation);
            var hfConfig = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "config.json");

            ClipConfig resolved;
            if (config != null) resolved = config;
            else if (reader.Metadata.TryGetValue(ConfigKey, out var json)) resolved = ClipConfig.Parse(json, $"{path} (metadata)");
            else
            {
                var shapes = weights.ToDictionary(kv => kv.Key, kv => kv.Value.shape);
                resolved = ArchitectureInference.FromShapes(shapes, quickGelu: recordedActivation != "gelu", path);
                if (hf && File.Exists(hfConfig)) resolved = ArchitectureInference.WithHuggingFaceConfig(resolved, hfConfig);
            }
            if (recordedActivation != null && recordedActivation != resolved.Activation)
                throw new WeightMismatchException(
                    $"{path}: the checkpoint was trained with {recordedActivation} but the config asks for {resolved.Activation}; " +
                    "loading it so would silently give wrong features. Use a config with quick_gelu = " +
                    (recordedActivation == "quick_gelu" ? "true" : "false") + ".");

            var model = new ClipModel(resolved);
            LoadInto(model, weights, path);
            return model;
        }
        finally
        {
            foreach (var t in raw.Values) t.Dispose();
        }
    }

    /// <summary>Copies OpenAI-named <paramref name="weights"/> into <paramref name="model"/>, or throws one
    /// error listing every missing, unexpected and wrong-shaped key.</summary>
    public static void LoadInto(ClipModel model, IReadOnlyDictionary<string, Tensor> weights, string source)
    {
        var target = model.state_dict();
        // OpenAI's .pt files carry three ints beside the weights; BatchNorm counters are optional.
        var ignorable = new HashSet<string> { "input_resolution", "context_length", "vocab_size" };
        var missing = target.Keys.Where(k => !weights.ContainsKey(k) && !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToList();
        var unexpected = weights.Keys.Where(k => !target.ContainsKey(k) && !ignorable.Contains(k)).ToList();
        var wrongShape = target.Where(kv => weights.TryGetValue(kv.Key, out var w) && !w.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key}: file [{string.Join(", ", weights[kv.Key].shape)}] vs model [{string.Join(", ", kv.Value.shape)}]").ToList();
        if (missing.Count + unexpected.Count + wrongShape.Count > 0)
        {
            var lines = new List<string> { $"{source}: the weights do not fit the model." };
            if (missing.Count > 0) lines.Add($"missing ({missing.Count}): {string.Join(", ", missing.Take(20))}{(missing.Count > 20 ? ", …" : "")}");
            if (unexpected.Count > 0) lines.Add($"unexpected ({unexpected.Count}): " +
                $"{string.Join(", ", unexpected.Take(20))}{(unexpected.Count > 20 ? ", …" : "")}");
            if (wrongShape.Count > 0) lines.Add($"wrong shape ({wrongShape.Count}): {string.Join("; ", wrongShape.Take(20))}");
            throw new WeightMismatchException(string.Join(Environment.NewLine, lines));
        }
        using var _ = no_grad();
        foreach (var (name, t) in target)
            if (weights.TryGetValue(name, out var w)) t.copy_(w.to(t.dtype));
    }

    /// <summary>Writes the model's weights (converted to <paramref name="dtype"/> if given) atomically.</summary>
    public static void Save(ClipModel model, string path, WeightNaming naming = WeightNaming.OpenAi, ScalarType? dtype = null,
                            IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        using var scope = NewDisposeScope();
        var sd = model.state_dict()
            .Where(kv => !kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => dtype.HasValue && kv.Value.is_floating_point() ? kv.Value.to(dtype.Value) : kv.Value, StringComparer.Ordinal);
        var named = naming == WeightNaming.HuggingFace ? HuggingFaceKeyMap.FromOpenAi(sd) : sd;
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt", [ConfigKey] = model.Config.ToJson(), [ActivationKey] = model.Config.Activation,
            ["semiclip.naming"] = naming.ToString(), ["semiclip.parameters"] = model.ParameterCount().ToString(CultureInfo.InvariantCulture),
        };
        if (extraMetadata != null) foreach (var (k, v) in extraMetadata) metadata[k] = v;
        SafeTensorsWriter.Write(path, named, metadata);
    }

    /// <summary>Writes a Hugging Face config.json for a ViT model (beside an HF-named export).</summary>
    public static void SaveHuggingFaceConfig(ClipConfig c, string path)
    {
        if (c.Vision.IsResNet) throw new NotSupportedException("Hugging Face CLIPModel has no ResNet vision tower.");
        var json = new System.Text.Json.Nodes.JsonObject
        {
            ["architectures"] = new System.Text.Json.Nodes.JsonArray("CLIPModel"), ["model_type"] = "clip", ["projection_dim"] = c.EmbedDim,
            ["logit_scale_init_value"] = 2.6592,
            ["text_config"] = new System.Text.Json.Nodes.JsonObject
            {
                ["hidden_size"] = c.Text.Width, ["intermediate_size"] = (int)(c.Text.Width * c.Text.MlpRatio), ["num_attention_heads"] = c.Text.Heads,
                ["num_hidden_layers"] = c.Text.Layers, ["max_position_embeddings"] = c.Text.ContextLength, ["vocab_size"] = c.Text.VocabSize,
                ["hidden_act"] = c.Activation, ["projection_dim"] = c.EmbedDim,
            },
            ["vision_config"] = new System.Text.Json.Nodes.JsonObject
            {
                ["hidden_size"] = c.Vision.Width, ["intermediate_size"] = (int)(c.Vision.Width * c.Vision.MlpRatio), ["num_attention_heads"] = c.Vision.Heads,
                ["num_hidden_layers"] = c.Vision.Layers, ["image_size"] = c.Vision.ImageSize, ["patch_size"] = c.Vision.PatchSize,
                ["hidden_act"] = c.Activation, ["projection_dim"] = c.EmbedDim,
            },
        };
        AtomicFile.WriteAllText(path, json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    static Dictionary<string, Tensor> StripModulePrefix(Dictionary<string, Tensor> raw) =>
        raw.ToDictionary(kv => kv.Key.StartsWith("module.",
            StringComparison.Ordinal) ? kv.Key["module.".Length..] : kv.Key, kv => kv.Value.alias(), StringComparer.Ordinal);
}
