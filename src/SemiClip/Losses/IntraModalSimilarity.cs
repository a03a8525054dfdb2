using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Losses;

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
