using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace SemiClip.Model;

/// <summary>The vision tower: a ViT when <see cref="PatchSize"/> is set, a ModifiedResNet when
/// <see cref="ResNetLayers"/> is set (open_clip writes both as "layers": an int or a list).</summary>
public sealed record VisionConfig
{
    public int ImageSize { get; init; } = 224;
    public int Width { get; init; } = 768;
    public int Layers { get; init; } = 12;
    public int[]? ResNetLayers { get; init; }
    public int PatchSize { get; init; } = 32;
    public int HeadWidth { get; init; } = 64;
    public double MlpRatio { get; init; } = 4.0;
    public bool IsResNet => ResNetLayers != null;

    /// <summary>An ImageNet ResNet trunk with a linear head instead of CLIP's own towers (open_clip's timm
    /// towers).</summary>
    public Pretrained.ImageNetResNetVision? ImageNet { get; init; }
    public int Heads => IsResNet ? Width * 32 / HeadWidth : Width / HeadWidth;

    // Records compare arrays by reference; stage counts are compared by value.
    public bool Equals(VisionConfig? other) =>
        other is not null
        && ImageSize == other.ImageSize
        && Width == other.Width
        && HeadWidth == other.HeadWidth
        && MlpRatio == other.MlpRatio
        && Pretrained.ImageNetResNetVision.Json(ImageNet) == Pretrained.ImageNetResNetVision.Json(other.ImageNet)
        && (
            IsResNet
                ? other.IsResNet && ResNetLayers!.SequenceEqual(other.ResNetLayers!)
                : !other.IsResNet && Layers == other.Layers && PatchSize == other.PatchSize
        );

    public override int GetHashCode() =>
        HashCode.Combine(
            ImageSize,
            Width,
            HeadWidth,
            IsResNet ? string.Join(",", ResNetLayers!) : $"{Layers}/{PatchSize}"
        );
}

public sealed record TextConfig
{
    public int ContextLength { get; init; } = 77;
    public int VocabSize { get; init; } = 49408;
    public int Width { get; init; } = 512;
    public int Heads { get; init; } = 8;
    public int Layers { get; init; } = 12;
    public double MlpRatio { get; init; } = 4.0;

    /// <summary>A BERT-family encoder (Hugging Face's BertModel) with a linear projection instead of CLIP's causal
    /// transformer (open_clip's HF text towers); its tokenizer is WordPiece.</summary>
    public Pretrained.BertConfig? Bert { get; init; }
}

/// <summary>A CLIP architecture in open_clip's <c>model_configs</c> JSON shape.</summary>
public sealed record ClipConfig
{
    public int EmbedDim { get; init; } = 512;
    public bool QuickGelu { get; init; }
    public VisionConfig Vision { get; init; } = new();
    public TextConfig Text { get; init; } = new();

    /// <summary>How images are prepared for this model (<c>preprocess_cfg</c>); unset in a file: OpenAI's.</summary>
    public Data.Images.ImagePreprocessing Preprocess { get; init; } = new();

    public string Activation => QuickGelu ? "quick_gelu" : "gelu";

    public static IReadOnlyList<string> BuiltInNames { get; } =
        typeof(ClipConfig)
            .Assembly.GetManifestResourceNames()
            .Where(n =>
                n.StartsWith("SemiClip.Model.Configs.", StringComparison.Ordinal)
                && n.EndsWith(".json", StringComparison.Ordinal)
            )
            .Select(n => n["SemiClip.Model.Configs.".Length..^".json".Length])
            .OrderBy(n => n)
            .ToList();

    /// <summary>A built-in name (ViT-B-32, RN50, tiny-vit, …) or a path to a JSON file.</summary>
    public static ClipConfig Load(string nameOrPath)
    {
        if (File.Exists(nameOrPath))
            return Parse(File.ReadAllText(nameOrPath), nameOrPath);
        var resource = $"SemiClip.Model.Configs.{nameOrPath}.json";
        using var stream = typeof(ClipConfig).Assembly.GetManifestResourceStream(resource)
            ?? throw new ArgumentException(
                $"Unknown model config '{nameOrPath}': not a file, and not one of {string.Join(", ", BuiltInNames)}."
            );
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), nameOrPath);
    }

    public static ClipConfig Parse(string json, string source)
    {
        try
        {
            return ParseChecked(json, source);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{source}: {e.Message}");
        } // e.g. a key given twice
    }

    static ClipConfig ParseChecked(string json, string source)
    {
        JsonNode root;
        try
        {
            root = JsonNode.Parse(json) ?? throw new JsonException("empty document");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(
                $"{source}:{IO.JsonErrors.Line(e)}: invalid model config JSON: {IO.JsonErrors.Problem(e)}."
            );
        }
        int Int(JsonNode? n, string field, int fallback) =>
            n?[field] is JsonValue v
                ? (
                    v.TryGetValue<int>(out var i)
                        ? i
                        : throw new InvalidDataException($"{source}: '{field}' must be an integer.")
                )
                : fallback;
        double Dbl(JsonNode? n, string field, double fallback) =>
            n?[field] is JsonValue v && v.TryGetValue<double>(out var d) ? d : fallback;

        var v = root["vision_cfg"] ?? throw new InvalidDataException($"{source}: missing 'vision_cfg'.");
        var t = root["text_cfg"] ?? throw new InvalidDataException($"{source}: missing 'text_cfg'.");
        int[]? resnet = null;
        int layers = 12;
        if (v["layers"] is JsonArray arr)
            resnet = arr.Select(x => x!.GetValue<int>()).ToArray();
        else
            layers = Int(v, "layers", 12);
        var vision = new VisionConfig
        {
            ImageNet = Pretrained.ImageNetResNetVision.Parse(v["imagenet_resnet"], source),
            ImageSize = Int(v, "image_size", 224),
            Width = Int(v, "width", 768),
            Layers = layers,
            ResNetLayers = resnet,
            PatchSize = Int(v, "patch_size", 32),
            HeadWidth = Int(v, "head_width", 64),
            MlpRatio = Dbl(v, "mlp_ratio", 4.0),
        };
        var text = new TextConfig
        {
            ContextLength = Int(t, "context_length", 77),
            VocabSize = Int(t, "vocab_size", 49408),
            Width = Int(t, "width", 512),
            Heads = Int(t, "heads", 8),
            Layers = Int(t, "layers", 12),
            MlpRatio = Dbl(t, "mlp_ratio", 4.0),
            Bert = t["hf_bert"] is { } bert
                ? Pretrained.BertConfig.FromHuggingFace(bert, $"{source} text_cfg.hf_bert")
                : null,
        };
        var cfg = new ClipConfig
        {
            EmbedDim = Int(root, "embed_dim", 512),
            QuickGelu = root["quick_gelu"]?.GetValue<bool>() ?? false,
            Vision = vision,
            Text = text,
            Preprocess = Data.Images.ImagePreprocessing.Parse(root["preprocess_cfg"], source),
        };
        cfg.Validate(source);
        return cfg;
    }

    public void Validate(string source)
    {
        var sizes = new (string Field, int Value)[]
        {
            ("embed_dim", EmbedDim),
            ("vision_cfg.image_size", Vision.ImageSize),
            ("vision_cfg.width", Vision.Width),
            ("vision_cfg.head_width", Vision.HeadWidth),
            ("vision_cfg.patch_size", Vision.PatchSize),
            ("text_cfg.width", Text.Width),
            ("text_cfg.heads", Text.Heads),
            ("text_cfg.context_length", Text.ContextLength),
            ("text_cfg.vocab_size", Text.VocabSize),
        };
        foreach (var (field, value) in sizes)
            if (value < 1)
                throw new InvalidDataException($"{source}: {field} must be at least 1 (got {value}).");
        if (!Vision.IsResNet && Vision.ImageSize % Vision.PatchSize != 0)
            throw new InvalidDataException(
                $"{source}: image_size {Vision.ImageSize} is not a multiple of patch_size {Vision.PatchSize}."
            );
        if (Vision.IsResNet && Vision.ImageSize % 32 != 0)
            throw new InvalidDataException(
                $"{source}: a ResNet tower needs image_size divisible by 32 (got {Vision.ImageSize})."
            );
        if (Text.Width % Text.Heads != 0)
            throw new InvalidDataException(
                $"{source}: text width {Text.Width} is not divisible by heads {Text.Heads}."
            );
        if (!Vision.IsResNet && Vision.Width % Vision.HeadWidth != 0)
            throw new InvalidDataException(
                $"{source}: vision width {Vision.Width} is not divisible by head_width {Vision.HeadWidth}."
            );
    }

    /// <summary>The open_clip JSON form (what <see cref="Parse"/> reads).</summary>
    public string ToJson()
    {
        var vision = new JsonObject
        {
            ["image_size"] = Vision.ImageSize,
            ["width"] = Vision.Width,
            ["head_width"] = Vision.HeadWidth,
            ["mlp_ratio"] = Vision.MlpRatio,
        };
        if (Vision.ImageNet != null)
            vision["imagenet_resnet"] = JsonNode.Parse(Pretrained.ImageNetResNetVision.Json(Vision.ImageNet));
        if (Vision.IsResNet)
            vision["layers"] = new JsonArray(Vision.ResNetLayers!.Select(x => (JsonNode)x).ToArray());
        else
        {
            vision["layers"] = Vision.Layers;
            vision["patch_size"] = Vision.PatchSize;
        }
        var root = new JsonObject
        {
            ["embed_dim"] = EmbedDim,
            ["quick_gelu"] = QuickGelu,
            ["vision_cfg"] = vision,
            ["text_cfg"] = new JsonObject
            {
                ["context_length"] = Text.ContextLength,
                ["vocab_size"] = Text.VocabSize,
                ["width"] = Text.Width,
                ["heads"] = Text.Heads,
                ["layers"] = Text.Layers,
                ["mlp_ratio"] = Text.MlpRatio,
            },
            ["preprocess_cfg"] = Preprocess.ToJson(),
        };
        if (Text.Bert != null)
            root["text_cfg"]!["hf_bert"] = Text.Bert.ToHuggingFace();
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
