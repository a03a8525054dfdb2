using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Losses;

/// <summary>S-CLIP's caption-level loss: soft cross-entropy of the unpaired images' logits over the
/// paired captions, s·Q·Tᵀ, against the pseudo-label plan, halved as in the reference.</summary>
public static class CaptionPseudoLabelLoss
{
    public static Tensor Compute(Tensor unpaired, Tensor text, Tensor scale, Tensor plan) =>
        SoftCrossEntropy.Compute(scale * unpaired.matmul(text.t()), plan).DividedBy(2);
}
