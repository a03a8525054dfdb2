using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>What the CLIP model needs of either vision tower.</summary>
public interface IVisionTower
{
    /// <summary>[B, embed] pooled features and [B, tokens, embed] spatial features.</summary>
    (Tensor Pooled, Tensor Tokens) EncodeWithTokens(Tensor images);

    /// <summary>What <c>lock_image</c> with no group unlocked freezes, applied to the images: the whole tower for
    /// CLIP's own towers; a web-pretrained trunk's pooled features, before the projection that still learns. The
    /// tower's output is <see cref="Head"/> of it, computed by the same operations in the same order, so features
    /// kept from this part give the tower's output to the bit.</summary>
    Tensor LockedPart(Tensor images) => EncodeWithTokens(images).Pooled;

    /// <summary>The rest of the tower, applied to <see cref="LockedPart"/>'s output.</summary>
    Tensor Head(Tensor locked) => locked.alias();
}
