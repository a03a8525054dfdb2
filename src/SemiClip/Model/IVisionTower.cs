using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>What the CLIP model needs of either vision tower.</summary>
public interface IVisionTower
{
    /// <summary>[B, embed] pooled features and [B, tokens, embed] spatial features.</summary>
    (Tensor Pooled, Tensor Tokens) EncodeWithTokens(Tensor images);
}
