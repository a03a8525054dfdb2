using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Losses;

/// <summary>S-CLIP's keyword-level partial-label loss. Each unpaired image takes the keywords of its
/// nearest paired caption (argmax of its plan row) as candidates. One candidate: a one-hot target;
/// several: weights proportional to the detached similarities s·q·kᵢ, divided by their sum (linear, not
/// softmax, as the reference); none: a zero row. Loss = soft-CE(s·Q·Kᵀ, target) / 2 over all rows.
/// One deliberate difference: similarities are clamped at 0 before normalising. The reference starts
/// from pretrained CLIP, where image–keyword cosines are positive and the clamp changes nothing; from
/// scratch they can be negative, giving negative "probabilities" and a loss that runs to −∞ (we
/// measured −10 within 20 steps). Where the clamped similarities sum to zero, the candidates share
/// the weight equally.</summary>
public static class KeywordPartialLabelLoss
{
    public static Tensor Targets(Tensor unpaired, Tensor keywords, Tensor scale, Tensor plan, Tensor keywordLabels)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var nearest = plan.argmax(1); // U
        var candidates = keywordLabels.index_select(0, nearest).to(unpaired.dtype); // U×K
        var sim = (scale.detach() * unpaired.detach().matmul(keywords.detach().t())).AtLeast(0) * candidates;
        var sum = sim.sum(1, keepdim: true);
        var count = candidates.sum(1, keepdim: true);
        var degenerate = sum.LessThan(1e-12);
        var target = where(degenerate, candidates / count.AtLeast(1), sim / where(degenerate, ones_like(sum), sum));
        return target.MoveToOuterDisposeScope();
    }

    public static Tensor Compute(Tensor unpaired, Tensor keywords, Tensor scale, Tensor targets) =>
        SoftCrossEntropy.Compute(scale * unpaired.matmul(keywords.t()), targets).DividedBy(2);
}
