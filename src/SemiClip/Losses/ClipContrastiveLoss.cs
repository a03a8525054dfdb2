using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Losses;

/// <summary>CLIP's symmetric InfoNCE: cross-entropy over s·I·Tᵀ with targets arange(B), image→text and
/// text→image, averaged. With <paramref name="unpaired"/> (S-CLIP), the text→image direction also sees
/// the unpaired images as negatives: its logits are [s·I·Tᵀ ; s·Q·Tᵀ]ᵀ.</summary>
public static class ClipContrastiveLoss
{
    public static Tensor Compute(Tensor image, Tensor text, Tensor scale, Tensor? unpaired = null)
    {
        var logitsPerImage = scale * image.matmul(text.t());
        var labels = Scalars.Range(image.shape[0], image.device);
        var logitsPerText = unpaired is null
            ? logitsPerImage.t()
            : cat(new[] { logitsPerImage, scale * unpaired.matmul(text.t()) }, 0).t();
        return nn
            .functional.cross_entropy(logitsPerImage, labels)
            .Plus(nn.functional.cross_entropy(logitsPerText, labels))
            .DividedBy(2);
    }
}
