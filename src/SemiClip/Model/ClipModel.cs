using SemiClip.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>Normalised features from both towers and the learned temperature.</summary>
public sealed record ClipOutput(Tensor ImageFeatures, Tensor TextFeatures, Tensor LogitScale);

/// <summary>CLIP: a vision tower (<c>visual.*</c>) and a causal text transformer whose parameters sit
/// at the top level, exactly as in OpenAI's and open_clip's state dicts, so their weights load by name.</summary>
public sealed class ClipModel : nn.Module<Tensor, Tensor, ClipOutput>
{
    readonly nn.Module<Tensor, Tensor> visual;

    // CLIP's own causal text transformer, at the top level as OpenAI names it; or, instead, a BERT-family tower.
    readonly Embedding? token_embedding;
    readonly Parameter? positional_embedding;
    readonly Transformer? transformer;
    readonly LayerNorm? ln_final;
    readonly Parameter? text_projection;
    readonly Pretrained.HfTextTower? text;
    readonly Parameter logit_scale;

    public ClipConfig Config { get; private set; }

    /// <summary>Records how this model's images are to be prepared (it changes no weight); saved with the
    /// model.</summary>
    public void SetPreprocessing(Data.Images.ImagePreprocessing preprocessing) =>
        Config = Config with { Preprocess = preprocessing };

    /// <summary>A model with open_clip's initialisation, drawn from <paramref name="generator"/> (a run passes one
    /// seeded by its config; see <see cref="InitialWeights"/>) or, without one, from LibTorch's global
    /// generator.</summary>
    public ClipModel(ClipConfig config, Generator? generator = null)
        : base("CLIP")
    {
        Config = config;
        visual =
            config.Vision.ImageNet is { } imageNet
                ? new Pretrained.ImageNetVisionTower(imageNet, config.Vision.ImageSize, config.EmbedDim, generator)
            : config.Vision.IsResNet ? new ModifiedResNet(config.Vision, config.EmbedDim, generator)
            : new VisionTransformer(config.Vision, config.EmbedDim, config.QuickGelu, generator);
        var t = config.Text;
        if (t.Bert is { } bert)
            text = new Pretrained.HfTextTower(bert with { VocabSize = t.VocabSize }, config.EmbedDim, generator);
        else
        {
            token_embedding = nn.Embedding(t.VocabSize, t.Width);
            positional_embedding = nn.Parameter(empty(t.ContextLength, t.Width));
            transformer = new Transformer(
                t.Width,
                t.Layers,
                t.Heads,
                t.MlpRatio,
                config.QuickGelu,
                causal: true,
                generator
            );
            ln_final = nn.LayerNorm(t.Width);
            text_projection = nn.Parameter(empty(t.Width, config.EmbedDim));
            using (no_grad())
            {
                Tensors.Parameters.Initialise(token_embedding.weight!, w => w.normal_(0, 0.02, generator));
                positional_embedding.normal_(0, 0.01, generator);
                text_projection.normal_(0, Math.Pow(t.Width, -0.5), generator);
            }
        }
        logit_scale = nn.Parameter(tensor(Math.Log(1 / 0.07), float32));
        RegisterComponents();
    }

    public Parameter LogitScaleParameter => logit_scale;

    /// <summary>Recomputes the transformer blocks' activations in the backward pass instead of keeping them (both
    /// towers' blocks; a ResNet image tower is left as it is, as open_clip leaves it).</summary>
    public void SetGradCheckpointing(bool enable)
    {
        if (transformer != null)
            transformer.GradCheckpointing = enable;
        if (visual is VisionTransformer vit)
            vit.SetGradCheckpointing(enable);
    }

    /// <summary>The learned temperature's current value, exp(logit_scale), as a number.</summary>
    public double LogitScale()
    {
        using var _ = no_grad();
        using var value = logit_scale.to(float32).cpu();
        return Math.Exp(value.item<float>());
    }

    public IVisionTower Visual => (IVisionTower)visual;

    /// <summary>Un-normalised image embeddings [B, embed].</summary>
    public Tensor EncodeImage(Tensor images) => visual.forward(images);

    /// <summary>Un-normalised text embeddings [B, embed], read at each row's end-of-text token
    /// (the highest id in the row, as CLIP does).</summary>
    public Tensor EncodeText(Tensor tokens) => EncodeTextWithTokens(tokens).Pooled;

    /// <summary>What <c>lock_text</c> with no layer unlocked freezes, applied to the tokens: the whole tower for CLIP's
    /// own, a BERT encoder's pooled output before the projection that still learns. <see cref="EncodeText"/> is
    /// <see cref="TextHead"/> of it, by the same operations in the same order.</summary>
    public Tensor TextLockedPart(Tensor tokens) => text != null ? text.LockedPart(tokens) : EncodeText(tokens);

    /// <summary>The rest of the text tower, applied to <see cref="TextLockedPart"/>'s output.</summary>
    public Tensor TextHead(Tensor locked) => text != null ? text.Head(locked) : locked.alias();

    /// <summary>The pooled text embedding plus every position projected the same way.</summary>
    public (Tensor Pooled, Tensor Tokens) EncodeTextWithTokens(Tensor tokens)
    {
        if (text != null)
            return text.EncodeWithTokens(tokens);
        using var scope = NewDisposeScope();
        var x = token_embedding!.forward(tokens).Plus(positional_embedding!.narrow(0, 0, tokens.shape[1]));
        x = ln_final!.forward(transformer!.forward(x));
        var eot = tokens.argmax(-1);
        var pooled = x[Scalars.Range(x.shape[0], x.device), eot].matmul(text_projection!);
        var all = x.matmul(text_projection!);
        return (pooled.MoveToOuterDisposeScope(), all.MoveToOuterDisposeScope());
    }

    /// <summary>How many columns of a zero-padded token batch hold text: up to each row's end token for CLIP's tower
    /// (the highest id; a real token may be 0), up to the last non-[PAD] for a BERT tower.</summary>
    public long TokensUsed(Tensor tokens) =>
        text != null ? tokens.to(@bool).sum(-1).max().item<long>() : tokens.argmax(-1).max().item<long>() + 1;

    /// <summary>The BERT-family text tower, when the model has one instead of CLIP's own.</summary>
    public Pretrained.HfTextTower? HfText => text;

    public override ClipOutput forward(Tensor images, Tensor tokens)
    {
        var img = nn.functional.normalize(EncodeImage(images), dim: -1);
        var txt = nn.functional.normalize(EncodeText(tokens), dim: -1);
        return new ClipOutput(img, txt, logit_scale.exp());
    }

    public long ParameterCount() => parameters().Sum(p => p.numel());

    /// <summary>Loads safetensors weights in OpenAI/open_clip or Hugging Face naming; see <see
    /// cref="ClipCheckpoint.Load"/>.</summary>
    public static ClipModel FromPretrained(string path, ClipConfig? config = null) => ClipCheckpoint.Load(path, config);
}
