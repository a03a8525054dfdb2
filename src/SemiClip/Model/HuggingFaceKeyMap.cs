using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>Converts between Hugging Face <c>CLIPModel</c> keys and OpenAI/open_clip keys. HF splits the
/// attention in-projection into q/k/v and stores the two joint-space projections as Linear weights
/// (transposed); everything else is a rename. HF has no ResNet CLIP, so only ViT towers convert.</summary>
public static partial class HuggingFaceKeyMap
{
    static readonly (string Hf, string OpenAi)[] Renames =
    {
        ("layer_norm1.", "ln_1."),
        ("layer_norm2.", "ln_2."),
        ("mlp.fc1.", "mlp.c_fc."),
        ("mlp.fc2.", "mlp.c_proj."),
        ("self_attn.out_proj.", "attn.out_proj."),
    };

    // Tensors outside the transformer blocks: one name each way; the two joint-space projections are transposed.
    static readonly (string Hf, string OpenAi, bool Transpose)[] Direct =
    {
        ("logit_scale", "logit_scale", false),
        ("text_projection.weight", "text_projection", true),
        ("visual_projection.weight", "visual.proj", true),
        ("text_model.embeddings.token_embedding.weight", "token_embedding.weight", false),
        ("text_model.embeddings.position_embedding.weight", "positional_embedding", false),
        ("vision_model.embeddings.class_embedding", "visual.class_embedding", false),
        ("vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight", false),
        ("vision_model.embeddings.position_embedding.weight", "visual.positional_embedding", false),
        ("text_model.final_layer_norm.weight", "ln_final.weight", false),
        ("text_model.final_layer_norm.bias", "ln_final.bias", false),
        ("vision_model.pre_layrnorm.weight", "visual.ln_pre.weight", false),
        ("vision_model.pre_layrnorm.bias", "visual.ln_pre.bias", false),
        ("vision_model.post_layernorm.weight", "visual.ln_post.weight", false),
        ("vision_model.post_layernorm.bias", "visual.ln_post.bias", false),
    };
    static readonly Dictionary<string, (string Name, bool Transpose)> HfToOpenAi = Direct.ToDictionary(
        d => d.Hf,
        d => (d.OpenAi, d.Transpose)
    );
    static readonly Dictionary<string, (string Name, bool Transpose)> OpenAiToHf = Direct.ToDictionary(
        d => d.OpenAi,
        d => (d.Hf, d.Transpose)
    );

    static Tensor Convert(Tensor t, bool transpose) => transpose ? t.t().contiguous() : t.clone();

    public static bool LooksLikeHuggingFace(IEnumerable<string> keys) =>
        keys.Any(k =>
            k.StartsWith("vision_model.", StringComparison.Ordinal)
            || k.StartsWith("text_model.", StringComparison.Ordinal)
        );

    /// <summary>HF tensors → OpenAI-named tensors (new tensors; the inputs are left alone).</summary>
    public static Dictionary<string, Tensor> ToOpenAi(IReadOnlyDictionary<string, Tensor> hf, string source)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var qkv = new Dictionary<string, Tensor?[]>(StringComparer.Ordinal);
        foreach (var (key, value) in hf)
        {
            if (key.EndsWith("position_ids", StringComparison.Ordinal))
                continue; // a buffer HF once saved; not a weight
            if (HfToOpenAi.TryGetValue(key, out var direct))
            {
                result[direct.Name] = Convert(value, direct.Transpose);
                continue;
            }
            var m = LayerKey().Match(key);
            if (m.Success)
            {
                string prefix = m.Groups[1].Value == "text" ? "" : "visual.";
                string block = $"{prefix}transformer.resblocks.{m.Groups[2].Value}.";
                string rest = m.Groups[3].Value;
                var proj = QkvKey().Match(rest);
                if (proj.Success)
                {
                    string kind = proj.Groups[2].Value; // weight | bias
                    var slot = block + "attn.in_proj_" + kind;
                    if (!qkv.TryGetValue(slot, out var parts))
                        qkv[slot] = parts = new Tensor?[3];
                    parts["qkv".IndexOf(proj.Groups[1].Value[0])] = value;
                    continue;
                }
                foreach (var (h, o) in Renames)
                    if (rest.StartsWith(h, StringComparison.Ordinal))
                    {
                        rest = o + rest[h.Length..];
                        break;
                    }
                result[block + rest] = value.clone();
                continue;
            }
            result["unmapped:" + key] = value.clone(); // reported as unexpected by the loader
        }
        foreach (var (slot, parts) in qkv)
        {
            if (parts.Any(p => p is null))
            {
                var found = parts.Select((p, i) => p is null ? null : "qkv"[i] + "_proj").Where(s => s != null);
                throw new InvalidDataException(
                    $"{source}: {slot} needs q_proj, k_proj and v_proj; found only {string.Join(", ", found)}."
                );
            }
            result[slot] = cat(parts!, 0);
        }
        return result;
    }

    /// <summary>OpenAI-named tensors → HF keys.</summary>
    public static Dictionary<string, Tensor> FromOpenAi(IReadOnlyDictionary<string, Tensor> openAi)
    {
        if (
            openAi.Keys.Any(k =>
                k.StartsWith("visual.attnpool.", StringComparison.Ordinal)
                || k.StartsWith("visual.layer", StringComparison.Ordinal)
            )
        )
            throw new NotSupportedException(
                "Hugging Face CLIPModel has no ResNet vision tower; export a ResNet model in OpenAI naming."
            );
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, value) in openAi)
        {
            if (OpenAiToHf.TryGetValue(key, out var direct))
            {
                result[direct.Name] = Convert(value, direct.Transpose);
                continue;
            }
            var m = OpenAiBlockKey().Match(key);
            if (m.Success)
            {
                string tower = m.Groups[1].Success && m.Groups[1].Value.Length > 0 ? "vision_model" : "text_model";
                string block = $"{tower}.encoder.layers.{m.Groups[2].Value}.";
                string rest = m.Groups[3].Value;
                if (rest.StartsWith("attn.in_proj_", StringComparison.Ordinal))
                {
                    string kind = rest["attn.in_proj_".Length..];
                    var chunks = value.chunk(3, 0);
                    for (int i = 0; i < 3; i++)
                        result[$"{block}self_attn.{"qkv"[i]}_proj.{kind}"] = chunks[i].contiguous();
                    continue;
                }
                foreach (var (h, o) in Renames)
                    if (rest.StartsWith(o, StringComparison.Ordinal))
                    {
                        rest = h + rest[o.Length..];
                        break;
                    }
                result[block + rest] = value.clone();
                continue;
            }
            throw new InvalidDataException($"No Hugging Face name for '{key}'.");
        }
        return result;
    }

    [GeneratedRegex(@"^(text|vision)_model\.encoder\.layers\.(\d+)\.(.+)$")]
    private static partial Regex LayerKey();

    [GeneratedRegex(@"^self_attn\.([qkv])_proj\.(weight|bias)$")]
    private static partial Regex QkvKey();

    [GeneratedRegex(@"^(visual\.)?transformer\.resblocks\.(\d+)\.(.+)$")]
    private static partial Regex OpenAiBlockKey();
}
