using SemiClip.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>OpenAI CLIP's ViT: bias-free patch convolution, class token, learned positions, ln_pre,
/// transformer, ln_post on the class token, projection to the joint embedding.</summary>
public sealed class VisionTransformer : nn.Module<Tensor, Tensor>, IVisionTower
{
    readonly Conv2d conv1;
    readonly Parameter class_embedding;
    readonly Parameter positional_embedding;
    readonly LayerNorm ln_pre;
    readonly Transformer transformer;
    readonly LayerNorm ln_post;
    readonly Parameter proj;

    public VisionTransformer(VisionConfig cfg, int embedDim, bool quickGelu, Generator? generator = null)
        : base("VisionTransformer")
    {
        int w = cfg.Width,
            grid = cfg.ImageSize / cfg.PatchSize;
        double scale = Math.Pow(w, -0.5);
        conv1 = InitialWeights.Conv2d(3, w, cfg.PatchSize, generator, stride: cfg.PatchSize);
        class_embedding = nn.Parameter(randn([w], generator: generator).Times(scale));
        positional_embedding = nn.Parameter(randn([grid * grid + 1, w], generator: generator).Times(scale));
        ln_pre = nn.LayerNorm(w);
        transformer = new Transformer(w, cfg.Layers, cfg.Heads, cfg.MlpRatio, quickGelu, causal: false, generator);
        ln_post = nn.LayerNorm(w);
        proj = nn.Parameter(randn([w, embedDim], generator: generator).Times(scale));
        RegisterComponents();
    }

    public override Tensor forward(Tensor images) => EncodeWithTokens(images).Pooled;

    public void SetGradCheckpointing(bool enable) => transformer.GradCheckpointing = enable;

    /// <summary>The pooled embedding and every patch token projected the same way (open_clip's
    /// output_tokens), used for token-level intra-modal similarity.</summary>
    public (Tensor Pooled, Tensor Tokens) EncodeWithTokens(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = conv1.forward(images); // [B, w, g, g]
        x = x.flatten(2).transpose(1, 2); // [B, g², w]
        var cls = class_embedding.to(x.dtype).expand(x.shape[0], 1, -1);
        x = cat(new[] { cls, x }, 1).Plus(positional_embedding.to(x.dtype));
        x = transformer.forward(ln_pre.forward(x));
        x = ln_post.forward(x);
        var pooled = x.select(1, 0).matmul(proj);
        var tokens = x.narrow(1, 1, x.shape[1] - 1).matmul(proj);
        return (pooled.MoveToOuterDisposeScope(), tokens.MoveToOuterDisposeScope());
    }
}
