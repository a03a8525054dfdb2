using static TorchSharp.torch;

namespace SemiClip.Losses;

public static class SoftCrossEntropy
{
    /// <summary>mean over rows of −Σⱼ targetᵢⱼ · log_softmax(logits)ᵢⱼ (the reference's soft_cross_entropy;
    /// an all-zero target row contributes 0 but still counts in the mean).</summary>
    public static Tensor Compute(Tensor logits, Tensor targets) =>
        (-(targets * nn.functional.log_softmax(logits, 1))).sum(1).mean();
}
