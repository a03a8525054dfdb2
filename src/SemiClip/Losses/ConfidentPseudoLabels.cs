using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Losses;

/// <summary>Confidence filtering of S-CLIP's pseudo-labels (not in the reference): only the unpaired rows
/// whose plan row is most peaked (lowest entropy) train the caption and keyword terms. A flat row means
/// the transport could not tell which paired caption fits, and its soft target mostly teaches noise.</summary>
public static class ConfidentPseudoLabels
{
    /// <summary>Indices (ascending) of the ⌈<paramref name="keepFraction"/>·U⌉ rows of <paramref name="plan"/>
    /// with the lowest entropy; all rows when the fraction is 1.</summary>
    public static Tensor Rows(Tensor plan, double keepFraction)
    {
        if (keepFraction is <= 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(keepFraction), keepFraction, "must be in (0, 1]");
        long rows = plan.shape[0];
        long keep = Math.Max(1, (long)Math.Ceiling(keepFraction * rows - 1e-9));
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        if (keep >= rows)
            return Scalars.Range(rows, plan.device).MoveToOuterDisposeScope();
        var p = plan.detach().to(float64);
        var entropy = -(p * p.AtLeast(1e-300).log()).sum(1);
        var chosen = entropy.argsort(0).narrow(0, 0, keep).sort(0).Values;
        return chosen.MoveToOuterDisposeScope();
    }
}
