namespace SemiClip.Model;

/// <summary>Analytic FLOP counts (multiply–add = 2 FLOPs) for model-FLOPs-utilisation figures: matrix
/// products only (projections, MLPs, attention scores and mixing, patch convolution); norms,
/// activations, softmax and pooling are ignored, as MFU conventions do; for ResNet towers every convolution counts.
/// Training = 3 × forward.</summary>
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
            return ResNetForward(c);
        int grid = v.ImageSize / v.PatchSize,
            tokens = grid * grid + 1;
        double patch = 2.0 * grid * grid * (3.0 * v.PatchSize * v.PatchSize) * v.Width;
        return patch + TransformerForward(tokens, v.Width, v.Layers, v.MlpRatio) + 2.0 * v.Width * c.EmbedDim;
    }

    static double Conv(double outSide, int inChannels, int outChannels, int kernel) =>
        2.0 * outSide * outSide * kernel * kernel * inChannels * outChannels;

    /// <summary>OpenAI's ModifiedResNet: a three-convolution stem at half resolution, bottleneck stages that
    /// downsample by average pooling before the last 1×1 convolution, and an attention pool whose query is the mean
    /// token.</summary>
    static double ResNetForward(ClipConfig c)
    {
        var v = c.Vision;
        int w = v.Width;
        double side = v.ImageSize / 2.0;
        double flops = Conv(side, 3, w / 2, 3) + Conv(side, w / 2, w / 2, 3) + Conv(side, w / 2, w, 3);
        side /= 2;
        int inplanes = w;
        var layers = v.ResNetLayers ?? throw new ArgumentException("ResNet config needs a list of layers.");
        for (int stage = 0; stage < layers.Length; stage++)
        {
            int planes = w << stage,
                stride = stage == 0 ? 1 : 2;
            for (int block = 0; block < layers[stage]; block++)
            {
                int s = block == 0 ? stride : 1;
                double outSide = side / s;
                flops += Conv(side, inplanes, planes, 1) + Conv(side, planes, planes, 3);
                flops += Conv(outSide, planes, planes * 4, 1);
                if (s > 1 || inplanes != planes * 4)
                    flops += Conv(outSide, inplanes, planes * 4, 1);
                inplanes = planes * 4;
                side = outSide;
            }
        }
        double tokens = side * side + 1,
            width = inplanes;
        // keys and values for every token, a query for the first, scores and mixing for that query, output.
        return flops + 2 * 2 * tokens * width * width + 2 * width * width + 2 * 2 * tokens * width
            + 2 * width * c.EmbedDim;
    }

    public static double TextForward(ClipConfig c) =>
        TransformerForward(c.Text.ContextLength, c.Text.Width, c.Text.Layers, c.Text.MlpRatio)
        + 2.0 * c.Text.Width * c.EmbedDim;

    /// <summary>Training FLOPs for one step of <paramref name="pairs"/> pairs, <paramref name="unpaired"/>
    /// extra images and <paramref name="extraTexts"/> extra texts (keywords).</summary>
    public static double TrainingStep(ClipConfig c, int pairs, int unpaired = 0, int extraTexts = 0) =>
        3 * ((pairs + unpaired) * ImageForward(c) + (pairs + extraTexts) * TextForward(c));
}
