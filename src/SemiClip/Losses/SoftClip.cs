using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Losses;

// SoftCLIP (Gao et al., 2024) top to bottom: soft cross-entropy, the intra-modal similarity that makes the soft
// targets, and the loss.

public static class SoftCrossEntropy
{
    /// <summary>mean over rows of −Σⱼ targetᵢⱼ · log_softmax(logits)ᵢⱼ (the reference's soft_cross_entropy;
    /// an all-zero target row contributes 0 but still counts in the mean).</summary>
    public static Tensor Compute(Tensor logits, Tensor targets) =>
        (-(targets * nn.functional.log_softmax(logits, 1))).sum(1).mean();
}

/// <summary>Intra-modal self-similarity matrices for SoftCLIP's soft targets, always without gradient
/// (they define targets). The paper uses region (ROI) features from a detector; SemiClip offers:
/// <list type="bullet">
/// <item><b>Pooled</b> (the default from scratch; from weights the teacher is): cosine similarity of the towers' own
/// normalised embeddings. Cheap, no
/// padding to mask, and it is the space the towers are trained to align, so it is meaningful from the
/// first step of fine-tuning a pretrained model.</item>
/// <item><b>Tokens</b>: patch/token features pooled by attention: for samples i, j, every token p of i
/// attends over j's tokens with weights softmax_q(cos(p,q)/τₐ); S_ij averages the attended similarity
/// over p, symmetrised. A soft version of FILIP's token-wise max similarity that stands in for region
/// matching; it costs B²·L² similarities.</item>
/// </list></summary>
public static class IntraModalSimilarity
{
    public static Tensor Pooled(Tensor features)
    {
        using var _ = no_grad();
        var f = nn.functional.normalize(features.detach(), dim: -1);
        return f.matmul(f.t());
    }

    /// <summary><paramref name="tokens"/> B×L×D, <paramref name="mask"/> B×L (true = real token) or null.</summary>
    public static Tensor AttentionPooledTokens(Tensor tokens, Tensor? mask, double temperature)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var t = nn.functional.normalize(tokens.detach(), dim: -1);
        long b = t.shape[0],
            l = t.shape[1];
        var cos = einsum("ipd,jqd->ijpq", t, t); // B×B×L×L
        var keyMask = mask is null ? ones(b, l, dtype: ScalarType.Bool, device: t.device) : mask.to(ScalarType.Bool);
        var keyValid = keyMask.view(1, b, 1, l); // keys come from sample j
        var attn = nn.functional.softmax(
            cos.DividedBy(temperature).FilledWhere(keyValid.logical_not(), double.NegativeInfinity),
            -1
        );
        var perToken = (attn * cos).sum(-1); // B×B×L (query tokens of i)
        var queryValid = keyMask.view(b, 1, l).to(t.dtype);
        var s = (perToken * queryValid).sum(-1) / queryValid.sum(-1); // B×B
        return s.Plus(s.t()).DividedBy(2).MoveToOuterDisposeScope();
    }
}

/// <summary>SoftCLIP (Gao et al., AAAI 2024, arXiv 2303.17561). The paper's method section could not be read through
/// our reference search (only its abstract), so this implements the documented reconstruction, with every constant a
/// config value (<see cref="LossConfig"/>): <code> P_i2t = softmax_row(s·I·Tᵀ),  P_t2i = softmax_row(s·T·Iᵀ) Y_i2t =
/// (1−α)·Id + α·softmax_row(S_img/τ),   Y_t2i = (1−α)·Id + α·softmax_row(S_txt/τ) L_soft = ½ [ CE(Y_i2t, P_i2t) +
/// CE(Y_t2i, P_t2i) ],     CE(Y, P) = −mean_i Σ_j Y_ij log P_ij for each row i, over the negatives j ≠ i only:  Ŷ_ij =
/// Y_ij / Σ_{k≠i} Y_ik,  P̂_ij = P_ij / Σ_{k≠i} P_ik L_neg = ½ [ KL(Ŷ_i2t ‖ P̂_i2t) + KL(Ŷ_t2i ‖ P̂_t2i) ],   KL
/// averaged over rows L = L_soft + λ·L_neg </code> S_img and S_txt are intra-modal self-similarities (<see
/// cref="IntraModalSimilarity"/>: the frozen teacher's embeddings by default from weights, the model's pooled
/// embeddings from scratch, or attention-pooled tokens). The image→text target borrows the image similarities: text j
/// is a partial positive for image i when image j resembles image i. Defaults α = 0.2, τ = 0.1, λ = 1 are ours, not the
/// paper's; a one-knob-at-a-time sweep on the real-data benchmark (40% swapped captions, val split, teacher source)
/// kept them: α 0.2/0.5/0.8 → 30.1/29.8/28.6 top-1, τ 0.03/0.1/0.3 → 29.5/30.1/24.9, λ 0/1/3 → 29.4/30.1/30.0, against
/// CLIP's 29.6. With α = 0 and λ = 0 this is CLIP's loss. With unpaired images (S-CLIP combined), the text→image logits
/// gain their columns, whose target is 0.</summary>
public static class SoftClipLoss
{
    public static Tensor SoftTargets(Tensor intraSimilarity, double alpha, double temperature)
    {
        using var _ = no_grad();
        long b = intraSimilarity.shape[0];
        var identity = eye(b, dtype: intraSimilarity.dtype, device: intraSimilarity.device);
        return identity
            .Times(1 - alpha)
            .Plus(nn.functional.softmax(intraSimilarity.DividedBy(temperature), 1).Times(alpha));
    }

    /// <summary>Returns (L_soft, L_neg); the caller applies λ.</summary>
    public static (Tensor Soft, Tensor Negatives) Compute(
        Tensor image,
        Tensor text,
        Tensor scale,
        Tensor imageIntra,
        Tensor textIntra,
        double alpha,
        double temperature,
        Tensor? unpaired = null
    )
    {
        var logitsPerImage = scale * image.matmul(text.t()); // B×B
        var yI2T = SoftTargets(imageIntra, alpha, temperature);
        var yT2I = SoftTargets(textIntra, alpha, temperature);
        Tensor logitsPerText = logitsPerImage.t();
        Tensor targetsPerText = yT2I;
        if (unpaired is not null)
        {
            logitsPerText = cat(new[] { logitsPerImage, scale * unpaired.matmul(text.t()) }, 0).t();
            targetsPerText = cat(
                new[] { yT2I, zeros(yT2I.shape[0], unpaired.shape[0], dtype: yT2I.dtype, device: yT2I.device) },
                1
            );
        }
        var soft = SoftCrossEntropy
            .Compute(logitsPerImage, yI2T)
            .Plus(SoftCrossEntropy.Compute(logitsPerText, targetsPerText))
            .DividedBy(2);
        var neg = NegativesKl(logitsPerImage, yI2T).Plus(NegativesKl(logitsPerImage.t(), yT2I)).DividedBy(2);
        return (soft, neg);
    }

    /// <summary>KL(Ŷ ‖ P̂) with both distributions re-normalised over each row's off-diagonal entries.</summary>
    public static Tensor NegativesKl(Tensor logits, Tensor targets)
    {
        long b = logits.shape[0];
        var diagonal = eye(b, dtype: ScalarType.Bool, device: logits.device);
        // Dropping the positive before the softmax is the same as re-normalising over the negatives.
        var logP = nn
            .functional.log_softmax(logits.FilledWhere(diagonal, double.NegativeInfinity), 1)
            .FilledWhere(diagonal, 0);
        var y = targets.detach().FilledWhere(diagonal, 0);
        y = y / y.sum(1, keepdim: true).AtLeast(1e-12);
        var logY = y.AtLeast(1e-30).log();
        return (y * (logY - logP)).sum(1).mean();
    }
}
