using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Losses;

/// <summary>S-CLIP's caption-level pseudo-labels: for each unpaired image, a distribution over the
/// batch's paired images (hence their captions). As in the reference (alinlab/s-clip), the optimal-
/// transport plan keeps its gradient through the Sinkhorn iterations unless <c>detach</c> is set; the
/// nearest-neighbour variants are labels without gradient. The transport's ε is 1/s unless a fixed
/// <c>epsilon</c> &gt; 0 is given.</summary>
public static class PseudoLabeler
{
    public static Tensor Assign(
        Tensor unpaired,
        Tensor paired,
        Tensor scale,
        PseudoLabelKind kind,
        int sinkhornIterations,
        bool detach = false,
        double epsilon = 0
    )
    {
        bool keepGradient = !detach && kind == PseudoLabelKind.OptimalTransport;
        using var _ = keepGradient ? null : no_grad();
        using var scope = NewDisposeScope();
        // U×B
        var similarity = keepGradient ? unpaired.matmul(paired.t()) : unpaired.detach().matmul(paired.detach().t());
        Tensor plan = kind switch
        {
            PseudoLabelKind.HardNearest => nn
                .functional.one_hot(similarity.argmax(1), paired.shape[0])
                .to(unpaired.dtype),
            PseudoLabelKind.SoftNearest => nn.functional.softmax(similarity * scale.detach(), 1),
            _ => Sinkhorn
                .RowNormalisedPlan(
                    similarity.SubtractedFrom(1),
                    epsilon > 0 ? epsilon : 1.0 / scale.detach().cpu().to(float64).item<double>(),
                    sinkhornIterations
                )
                .to(unpaired.dtype),
        };
        return plan.MoveToOuterDisposeScope();
    }
}
