using static TorchSharp.torch;

namespace SemiClip.Losses;

/// <summary>S-CLIP's keyword-level partial-label loss. Each unpaired image takes the keywords of its
/// nearest paired caption (argmax of its plan row) as candidates. One candidate: a one-hot target;
/// several: weights proportional to the detached similarities s·q·kᵢ, divided by their sum (linear, not
/// softmax, as the reference); none: a zero row. Loss = soft-CE(s·Q·Kᵀ, target) / 2 over all rows.
/// Where several candidates' similarities sum to zero (the reference would divide by zero) the
/// candidates share the weight equally.</summary>
public static class KeywordPartialLabelLoss
{
    public static Tensor Targets(Tensor unpaired, Tensor keywords, Tensor scale, Tensor plan, Tensor keywordLabels)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var nearest = plan.argmax(1);                                     // U
        var candidates = keywordLabels.index_select(0, nearest).to(unpaired.dtype);   // U×K
        var sim = scale.detach() * unpaired.detach().matmul(keywords.detach().t()) * candidates;
        var sum = sim.sum(1, keepdim: true);
        var count = candidates.sum(1, keepdim: true);
        var degenerate = sum.abs() < 1e-12;
        var target = where(degenerate, candidates / count.clamp_min(1), sim / where(degenerate, ones_like(sum), sum));
        return target.MoveToOuterDisposeScope();
    }

    public static Tensor Compute(Tensor unpaired, Tensor keywords, Tensor scale, Tensor targets) =>
        SoftCrossEntropy.Compute(scale * unpaired.matmul(keywords.t()), targets) / 2;
}
