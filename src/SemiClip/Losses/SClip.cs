using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Losses;

// S-CLIP (Mo et al., 2023) top to bottom: the Sinkhorn plan, caption-level pseudo-labels from it, the caption loss,
// the confident subset, and the keyword partial-label loss.

/// <summary>Entropic optimal transport with uniform marginals, POT's <c>sinkhorn</c> (Sinkhorn–Knopp)
/// iteration carried out in the log domain and in float64, so a small regularisation ε (here 1/s,
/// about 0.01) cannot underflow exp(−C/ε):
/// v ← b / (Kᵀu), u ← a / (K v), K = exp(−C/ε), u₀ = 1/n, v₀ = 1/m; plan = diag(u) K diag(v).</summary>
public static class Sinkhorn
{
    /// <summary>The transport plan for cost <paramref name="cost"/> (n×m); float64.</summary>
    public static Tensor Plan(Tensor cost, double epsilon, int iterations)
    {
        using var scope = NewDisposeScope();
        var logK = cost.to(float64).DividedBy(-epsilon);
        long n = cost.shape[0],
            m = cost.shape[1];
        double logA = -Math.Log(n),
            logB = -Math.Log(m);
        var logU = Scalars.Full(n, logA, float64, cost.device);
        var logV = Scalars.Full(m, logB, float64, cost.device);
        for (int i = 0; i < iterations; i++)
        {
            logV = logK.Plus(logU.unsqueeze(1)).logsumexp(0).SubtractedFrom(logB);
            logU = logK.Plus(logV.unsqueeze(0)).logsumexp(1).SubtractedFrom(logA);
        }
        return logU.unsqueeze(1).Plus(logK).Plus(logV.unsqueeze(0)).exp().MoveToOuterDisposeScope();
    }

    /// <summary>The plan with each row normalised to sum 1: soft assignments of the n queries over the
    /// m supports. Equals softmaxⱼ(−Cᵢⱼ/ε + log vⱼ).</summary>
    public static Tensor RowNormalisedPlan(Tensor cost, double epsilon, int iterations)
    {
        using var scope = NewDisposeScope();
        var plan = Plan(cost, epsilon, iterations);
        return (plan / plan.sum(1, keepdim: true)).MoveToOuterDisposeScope();
    }
}

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

/// <summary>S-CLIP's caption-level loss: soft cross-entropy of the unpaired images' logits over the
/// paired captions, s·Q·Tᵀ, against the pseudo-label plan, halved as in the reference.</summary>
public static class CaptionPseudoLabelLoss
{
    public static Tensor Compute(Tensor unpaired, Tensor text, Tensor scale, Tensor plan) =>
        SoftCrossEntropy.Compute(scale * unpaired.matmul(text.t()), plan).DividedBy(2);
}

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
