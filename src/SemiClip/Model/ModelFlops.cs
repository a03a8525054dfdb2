namespace SemiClip.Model;

/// <summary>Analytic FLOP counts (multiply–add = 2 FLOPs) for model-FLOPs-utilisation figures: matrix
/// products only (projections, MLPs, attention scores and mixing, patch convolution); norms,
/// activations and softmax are ignored, as MFU conventions do. Training = 3 × forward.</summary>
public static class ModelFlops
{
    static double TransformerForward(int tokens, int width, int layers, double mlpRatio)
    {
        double perTokenLinear = 2.0 * (4 * width * (double)width + 2 * mlpRatio * width * width); // qkv+out, fc+proj
        double attention = 2.0 * 2 * tokens * (double)width; // QKᵀ and AV per token
        return layers * tokens * (perTokenLinear + attention);
    }

    public static double ImageForward(ClipConfig c)
    {
        var v = c.Vision;
        if (v.IsResNet)
            throw new NotSupportedException("FLOP counts are implemented for ViT towers.");
        int grid = v.ImageSize / v.PatchSize,
            tokens = grid * grid + 1;
        double patch = 2.0 * grid * grid * (3.0 * v.PatchSize * v.PatchSize) * v.Width;
        return patch + TransformerForward(tokens, v.Width, v.Layers, v.MlpRatio) + 2.0 * v.Width * c.EmbedDim;
    }

    public static double TextForward(ClipConfig c) =>
        TransformerForward(c.Text.ContextLength, c.Text.Width, c.Text.Layers, c.Text.MlpRatio)
        + 2.0 * c.Text.Width * c.EmbedDim;

    /// <summary>Training FLOPs for one step of <paramref name="pairs"/> pairs, <paramref name="unpaired"/>
    /// extra images and <paramref name="extraTexts"/> extra texts (keywords).</summary>
    public static double TrainingStep(ClipConfig c, int pairs, int unpaired = 0, int extraTexts = 0) =>
        3 * ((pairs + unpaired) * ImageForward(c) + (pairs + extraTexts) * TextForward(c));
}
