using SemiClip.Model;
using TorchSharp.Modules;

namespace SemiClip.Training;

/// <summary>open_clip's tower locking and layer-wise learning-rate decay, from the config. Locked parameters get
/// requires_grad = false before the optimiser is built, so they receive no gradient and hold no optimiser state, and
/// every encoding of the model (paired, unpaired, keywords) respects them.</summary>
public static class ModelLocks
{
    /// <summary>Applies lock_image / lock_text; returns the BatchNorm modules whose statistics stay frozen (in eval
    /// mode after every <c>train()</c>).</summary>
    public static IReadOnlyList<BatchNorm2d> Apply(ClipModel model, TrainConfig c)
    {
        var frozenNorms = new List<BatchNorm2d>();
        if (c.LockImage)
        {
            var groups = LayerGroups.Of(model, Tower.Image);
            var locked = groups
                .Take(Math.Max(0, groups.Count - c.LockImageUnlockedGroups))
                .SelectMany(g => g)
                .ToHashSet(StringComparer.Ordinal);
            foreach (var (name, p) in model.named_parameters())
                if (locked.Contains(name))
                    p.requires_grad = false;
            if (c.LockImageFreezeBnStats)
                foreach (var (name, module) in model.named_modules())
                    if (module is BatchNorm2d bn && locked.Contains(name + ".weight"))
                        frozenNorms.Add(bn);
        }
        if (c.LockText)
        {
            var groups = LayerGroups.Of(model, Tower.Text);
            int unlockedFrom = Math.Max(0, groups.Count - c.LockTextUnlockedLayers);
            for (int g = 0; g < groups.Count; g++)
                foreach (var name in groups[g])
                {
                    // open_clip: an unlocked group trains, except its LayerNorms when freeze_layer_norm asks.
                    bool norm =
                        name.Contains(".ln_", StringComparison.Ordinal)
                        || name.StartsWith("ln_final.", StringComparison.Ordinal);
                    bool trains = g >= unlockedFrom && !(norm && c.LockTextFreezeLayerNorm);
                    if (!trains)
                        Parameter(model, name).requires_grad = false;
                }
        }
        return frozenNorms;
    }

    /// <summary>Learning-rate multipliers: decay^(depth from the top) for each tower's groups (1 for the top group and
    /// for logit_scale), so the early layers a few captions would overwrite move least.</summary>
    public static Dictionary<string, double> LearningRateScales(ClipModel model, TrainConfig c)
    {
        var scales = model.named_parameters().ToDictionary(p => p.name, _ => 1.0, StringComparer.Ordinal);
        foreach (var (tower, decay) in new[] { (Tower.Image, c.ImageLayerDecay), (Tower.Text, c.TextLayerDecay) })
        {
            if (decay == 1)
                continue;
            var groups = LayerGroups.Of(model, tower);
            for (int g = 0; g < groups.Count; g++)
                foreach (var name in groups[g])
                    scales[name] = Math.Pow(decay, groups.Count - 1 - g);
        }
        return scales;
    }

    static Parameter Parameter(ClipModel model, string name) =>
        model.named_parameters().First(p => p.name == name).parameter;
}
