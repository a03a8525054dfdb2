using System.Text.Json.Nodes;

namespace SemiClip.Model;

/// <summary>Reconstructs a <see cref="ClipConfig"/> from OpenAI-named tensor shapes, as open_clip does
/// for OpenAI checkpoints (heads = width / 64, which holds for every published CLIP), optionally
/// corrected by a Hugging Face <c>config.json</c> (heads, activation).</summary>
public static class ArchitectureInference
{
    public static ClipConfig FromShapes(IReadOnlyDictionary<string, long[]> shapes, bool quickGelu, string source)
    {
        long[] Shape(string key) =>
            shapes.TryGetValue(key, out var s)
                ? s
                : throw new InvalidDataException(
                    $"{source}: cannot infer the architecture: tensor '{key}' is missing."
                );
        int CountBlocks(string prefix) =>
            shapes
                .Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
                .Select(k => k[prefix.Length..].Split('.')[0])
                .Distinct()
                .Count();

        VisionConfig vision;
        if (shapes.ContainsKey("visual.proj"))
        {
            var conv = Shape("visual.conv1.weight");
            int width = (int)conv[0],
                patch = (int)conv[^1];
            int grid = (int)Math.Round(Math.Sqrt(Shape("visual.positional_embedding")[0] - 1));
            vision = new VisionConfig
            {
                Width = width,
                PatchSize = patch,
                ImageSize = patch * grid,
                Layers = CountBlocks("visual.transformer.resblocks."),
                HeadWidth = 64,
                MlpRatio = (double)Shape("visual.transformer.resblocks.0.mlp.c_fc.weight")[0] / width,
            };
        }
        else if (shapes.ContainsKey("visual.attnpool.positional_embedding"))
        {
            var counts = Enumerable.Range(1, 4).Select(b => CountBlocks($"visual.layer{b}.")).ToArray();
            int width = (int)Shape("visual.layer1.0.conv1.weight")[0];
            int outputWidth = (int)Math.Round(Math.Sqrt(Shape("visual.attnpool.positional_embedding")[0] - 1));
            vision = new VisionConfig
            {
                Width = width,
                ResNetLayers = counts,
                ImageSize = outputWidth * 32,
                HeadWidth = 64,
            };
        }
        else
            throw new InvalidDataException(
                $"{source}: cannot infer the vision tower: neither 'visual.proj' (ViT) "
                    + $"nor 'visual.attnpool.*' (ResNet) is present."
            );

        int textWidth = (int)Shape("ln_final.weight")[0];
        var text = new TextConfig
        {
            ContextLength = (int)Shape("positional_embedding")[0],
            VocabSize = (int)Shape("token_embedding.weight")[0],
            Width = textWidth,
            Heads = Math.Max(1, textWidth / 64),
            Layers = CountBlocks("transformer.resblocks."),
            MlpRatio = (double)Shape("transformer.resblocks.0.mlp.c_fc.weight")[0] / textWidth,
        };
        return new ClipConfig
        {
            EmbedDim = (int)Shape("text_projection")[1],
            QuickGelu = quickGelu,
            Vision = vision,
            Text = text,
        };
    }

    /// <summary>Applies what a Hugging Face config.json says that shapes cannot: head counts and activation.</summary>
    public static ClipConfig WithHuggingFaceConfig(ClipConfig inferred, string configJsonPath)
    {
        JsonNode root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(configJsonPath)) ?? throw new InvalidDataException("empty");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{configJsonPath}: invalid JSON: {e.Message}");
        }
        var t = root["text_config"];
        var v = root["vision_config"];
        // HF's CLIP default
        string act = t?["hidden_act"]?.GetValue<string>() ?? v?["hidden_act"]?.GetValue<string>() ?? "quick_gelu";
        if (act is not ("quick_gelu" or "gelu"))
            throw new InvalidDataException(
                $"{configJsonPath}: hidden_act '{act}' is not supported (quick_gelu or gelu)."
            );
        int textHeads = t?["num_attention_heads"]?.GetValue<int>() ?? 8;
        int visionHeads = v?["num_attention_heads"]?.GetValue<int>() ?? 12;
        var vision = inferred.Vision.IsResNet
            ? inferred.Vision
            : inferred.Vision with
            {
                HeadWidth = inferred.Vision.Width / visionHeads,
            };
        return inferred with
        {
            QuickGelu = act == "quick_gelu",
            Vision = vision,
            Text = inferred.Text with { Heads = textHeads },
        };
    }
}
