using SemiClip.Model;
using static TorchSharp.torch;

namespace SemiClip.Training;

/// <summary>What a fully locked tower computes for each of its inputs (an image, a caption, a keyword), kept in memory
/// after the first time a batch brings it, so a LiT-style run pays only for what learns. Valid only while that output
/// cannot change: the locked part has no parameter that learns and no batch-norm statistics that move, and the input
/// arrives the same way every time (images not augmented; text never is); <see cref="AppliesToImages"/> and
/// <see cref="AppliesToText"/> say when that holds. A run pays for its locked towers once per input.</summary>
public sealed class LockedFeatures : IDisposable
{
    readonly Dictionary<string, Tensor> _rows = new(StringComparer.Ordinal);

    /// <summary>How many inputs' features are kept.</summary>
    public int Count => _rows.Count;

    /// <summary>What the settings alone say about keeping images' features: the cache is on, the image tower is
    /// locked whole and its images are not augmented (the model's batch norms decide the rest).</summary>
    public static bool SettingsKeepImages(TrainConfig config) =>
        config.CacheLockedFeatures && config.LockImage && config.LockImageUnlockedGroups == 0 && !config.AugmentsImages;

    /// <summary>Whether the image tower's locked part gives an image the same features every time it is drawn.
    /// <paramref name="frozenNorms"/>: the batch-norm modules whose statistics stay.</summary>
    public static bool AppliesToImages(
        TrainConfig config,
        ClipModel model,
        IReadOnlyCollection<TorchSharp.Modules.BatchNorm2d> frozenNorms,
        bool needsTokenFeatures
    )
    {
        if (!SettingsKeepImages(config) || needsTokenFeatures)
            return false;
        // A batch norm left in training mode normalises by the batch and moves its statistics every step.
        var frozen = frozenNorms.ToHashSet();
        return model
            .named_modules()
            .Where(m => m.name.StartsWith("visual.", StringComparison.Ordinal))
            .All(m => m.module is not TorchSharp.Modules.BatchNorm2d bn || frozen.Contains(bn));
    }

    /// <summary>Whether the text tower's locked part gives a text the same features every time (it has no batch
    /// norm and no dropout, so: whether it is locked whole).</summary>
    public static bool AppliesToText(TrainConfig config, bool needsTokenFeatures) =>
        config.CacheLockedFeatures && config.LockText && config.LockTextUnlockedLayers == 0 && !needsTokenFeatures;

    /// <summary>The locked part's output for <paramref name="inputs"/> (their keys in <paramref name="keys"/>): kept
    /// rows, the inputs not kept yet computed by <paramref name="compute"/> (without gradient) and kept first; a batch
    /// of which nothing is kept (a run's first epoch) is computed whole, as an uncached step computes it. A kept row
    /// equals a recomputed one within rounding, not always to the bit: LibTorch rounds a row according to where it sits
    /// in a batch and how large the batch is.</summary>
    public Tensor Get(IReadOnlyList<string> keys, Tensor inputs, Func<Tensor, Tensor> compute)
    {
        if (keys.Count != inputs.shape[0])
            throw new ArgumentException($"{keys.Count} keys for {inputs.shape[0]} inputs.");
        var missing = Enumerable.Range(0, keys.Count).Where(i => !_rows.ContainsKey(keys[i])).ToList();
        if (missing.Count == keys.Count)
        {
            Tensor all;
            using (no_grad())
                all = compute(inputs);
            Keep(keys, all);
            return all;
        }
        if (missing.Count > 0)
            using (no_grad())
            {
                using var index = tensor(missing.Select(i => (long)i).ToArray(), device: inputs.device);
                using var some = inputs.index_select(0, index);
                Keep(missing.Select(i => keys[i]).ToList(), compute(some));
            }
        return stack(keys.Select(k => _rows[k]).ToArray());
    }

    void Keep(IReadOnlyList<string> keys, Tensor rows)
    {
        for (int i = 0; i < keys.Count; i++)
            if (!_rows.ContainsKey(keys[i]))
                _rows[keys[i]] = rows[i].clone().DetachFromDisposeScope();
    }

    public void Dispose()
    {
        foreach (var row in _rows.Values)
            row.Dispose();
        _rows.Clear();
    }
}
