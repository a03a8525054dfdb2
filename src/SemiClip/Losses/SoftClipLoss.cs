using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Losses;

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
