using System.Text.RegularExpressions;

namespace SemiClip.Model;

public enum Tower
{
    Image,
    Text,
}

/// <summary>A tower's parameters in open_clip's lock groups, bottom to top: for a ViT the stem (patch convolution,
/// class and position embeddings, ln_pre), each residual block, then ln_post with the projection; for a ModifiedResNet
/// the stem, layer1–4 and the attention pool; for the text tower the token and position embeddings, each block, then
/// ln_final with the projection. Web-pretrained towers follow open_clip's timm and HF towers: an ImageNet ResNet's
/// stem and its four stages, a BERT's embeddings and each layer; their new projection is in no group, so locking never
/// freezes it (open_clip locks the trunk, not the head). Locking leaves the top groups trainable; layer-wise
/// learning-rate decay scales each group by its depth from the top. <c>logit_scale</c> belongs to neither
/// tower.</summary>
public static partial class LayerGroups
{
    /// <summary>Parameter names per group, bottom group first.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Of(ClipModel model, Tower tower)
    {
        var c = model.Config;
        int count =
            tower == Tower.Text ? (c.Text.Bert is { } bert ? bert.NumHiddenLayers + 1 : c.Text.Layers + 2)
            : c.Vision.ImageNet != null ? 5
            : c.Vision.IsResNet ? 6
            : c.Vision.Layers + 2;
        var groups = Enumerable.Range(0, count).Select(_ => new List<string>()).ToArray();
        foreach (var (name, _) in model.named_parameters())
            if (GroupOf(name, tower, c) is int g)
                groups[g].Add(name);
        return groups;
    }

    /// <summary>The group of parameter <paramref name="name"/> in <paramref name="tower"/>, or null when it is not in
    /// that tower.</summary>
    public static int? GroupOf(string name, Tower tower, ClipConfig c)
    {
        if (tower == Tower.Text)
        {
            if (name.StartsWith("visual.", StringComparison.Ordinal) || name == "logit_scale")
                return null;
            if (c.Text.Bert is { } bert)
            {
                if (BertLayer().Match(name) is { Success: true } layer)
                    return 1 + int.Parse(layer.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                return name.StartsWith("text.proj.", StringComparison.Ordinal) ? null : 0;
            }
            if (Block().Match(name) is { Success: true } text)
                return 1 + int.Parse(text.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            return name.StartsWith("ln_final.", StringComparison.Ordinal) || name == "text_projection"
                ? c.Text.Layers + 1
                : 0;
        }
        if (!name.StartsWith("visual.", StringComparison.Ordinal))
            return null;
        if (c.Vision.ImageNet != null)
        {
            if (TrunkStage().Match(name) is { Success: true } stage)
                return int.Parse(stage.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            return name.StartsWith("visual.proj.", StringComparison.Ordinal) ? null : 0;
        }
        if (c.Vision.IsResNet)
        {
            if (Stage().Match(name) is { Success: true } stage)
                return int.Parse(stage.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            return name.StartsWith("visual.attnpool.", StringComparison.Ordinal) ? 5 : 0;
        }
        if (VisionBlock().Match(name) is { Success: true } block)
            return 1 + int.Parse(block.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        return name.StartsWith("visual.ln_post.", StringComparison.Ordinal) || name == "visual.proj"
            ? c.Vision.Layers + 1
            : 0;
    }

    [GeneratedRegex(@"^transformer\.resblocks\.(\d+)\.")]
    private static partial Regex Block();

    [GeneratedRegex(@"^visual\.transformer\.resblocks\.(\d+)\.")]
    private static partial Regex VisionBlock();

    [GeneratedRegex(@"^visual\.layer([1-4])\.")]
    private static partial Regex Stage();

    [GeneratedRegex(@"^visual\.trunk\.layer([1-4])\.")]
    private static partial Regex TrunkStage();

    [GeneratedRegex(@"^text\.transformer\.encoder\.layer\.(\d+)\.")]
    private static partial Regex BertLayer();
}
