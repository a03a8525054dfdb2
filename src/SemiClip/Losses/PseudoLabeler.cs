using static TorchSharp.torch;

namespace SemiClip.Losses;

/// <summary>S-CLIP's caption-level pseudo-labels: for each unpaired image, a distribution over the
/// batch's paired images (hence their captions). Returned without gradient: the plan is a target. The
/// reference (alinlab/s-clip) does not detach it, so there gradients also flow through the plan; we
/// treat it as a label, which is what the paper describes.</summary>
public static class PseudoLabeler
{
    public static Tensor Assign(Tensor unpaired, Tensor paired, Tensor scale, PseudoLabelKind kind, int sinkhornIterations)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var similarity = unpaired.detach().matmul(paired.detach().t());          // U×B
        Tensor plan = kind switch
        {
            PseudoLabelKind.HardNearest => nn.functional.one_hot(similarity.argmax(1), paired.shape[0]).to(unpaired.dtype),
            PseudoLabelKind.SoftNearest => nn.functional.softmax(similarity * scale.detach(), 1),
            _ => Sinkhorn.RowNormalisedPlan(1 - similarity, 1.0 / scale.detach().cpu().to(float64).item<double>(), sinkhornIterations).to(unpaired.dtype),
        };
        return plan.MoveToOuterDisposeScope();
    }
}
