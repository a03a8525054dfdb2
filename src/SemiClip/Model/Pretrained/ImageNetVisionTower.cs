using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SemiClip.Model.Pretrained;

/// <summary>An ImageNet ResNet as CLIP's image tower, the way open_clip wraps a timm model: the trunk
/// (<c>visual.trunk.*</c>), global average pooling and a learned linear projection to the shared embedding
/// (<c>visual.head.proj</c>). A trunk trained on BGR input minus a mean image (CNTK's convention) keeps that image as
/// <c>visual.input_mean</c>, so it travels with the weights; its images then arrive as RGB in 0..255.</summary>
public sealed class ImageNetVisionTower : nn.Module<Tensor, Tensor>, IVisionTower
{
    readonly ImageResNet trunk;
    readonly Linear proj;
    readonly Tensor? input_mean;

    public ImageNetVisionTower(ImageNetResNetVision config, int imageSize, int embedDim, Generator? generator)
        : base("ImageNetVisionTower")
    {
        trunk = new ImageResNet(config.Trunk);
        proj = nn.Linear(config.Trunk.FeatureWidth, embedDim, hasBias: false);
        using (no_grad())
            Tensors.Parameters.Initialise(
                proj.weight!,
                w => w.normal_(0, Math.Pow(config.Trunk.FeatureWidth, -0.5), generator)
            );
        if (config.BgrMeanImage)
            input_mean = zeros(1, 3, imageSize, imageSize);
        RegisterComponents(); // input_mean, a tensor field, becomes a buffer: saved and loaded with the weights
    }

    public ImageResNet Trunk => trunk;

    /// <summary>Sets the mean image the trunk was trained with ([1, 3, H, W], BGR).</summary>
    public void SetInputMean(Tensor mean)
    {
        if (input_mean is null)
            throw new InvalidOperationException("this tower takes no mean image.");
        using var _ = no_grad();
        input_mean.copy_(mean);
    }

    Tensor Prepared(Tensor images) => input_mean is null ? images.alias() : images.flip(1) - input_mean;

    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return Head(LockedPart(images)).MoveToOuterDisposeScope();
    }

    /// <summary>The trunk's pooled features: what locking the trunk freezes (the projection is in no lock
    /// group).</summary>
    public Tensor LockedPart(Tensor images)
    {
        using var scope = NewDisposeScope();
        return ImageResNet.Pool(trunk.SpatialFeatures(Prepared(images))).MoveToOuterDisposeScope();
    }

    public Tensor Head(Tensor locked) => proj.forward(locked);

    public (Tensor Pooled, Tensor Tokens) EncodeWithTokens(Tensor images)
    {
        using var scope = NewDisposeScope();
        var map = trunk.SpatialFeatures(Prepared(images));
        var pooled = proj.forward(ImageResNet.Pool(map));
        var tokens = proj.forward(map.flatten(2).transpose(1, 2));
        return (pooled.MoveToOuterDisposeScope(), tokens.MoveToOuterDisposeScope());
    }
}

/// <summary>A BERT-family encoder as CLIP's text tower, as open_clip's HF text encoder: the encoder
/// (<c>text.transformer.*</c>, Hugging Face's names), pooled, then a learned linear projection (<c>text.proj</c>). Its
/// attention mask is read off the ids: [PAD] is 0.</summary>
public sealed class HfTextTower : nn.Module<Tensor, Tensor>
{
    readonly BertTextTower transformer;
    readonly Linear proj;

    public HfTextTower(BertConfig config, int embedDim, Generator? generator)
        : base("HfTextTower")
    {
        transformer = new BertTextTower(config);
        proj = nn.Linear(config.HiddenSize, embedDim, hasBias: false);
        using (no_grad())
            Tensors.Parameters.Initialise(
                proj.weight!,
                w => w.normal_(0, Math.Pow(config.HiddenSize, -0.5), generator)
            );
        RegisterComponents();
    }

    public BertTextTower Encoder => transformer;

    public override Tensor forward(Tensor ids) => EncodeWithTokens(ids).Pooled;

    /// <summary>The pooled embedding [B, embed] and every position projected the same way [B, T, embed].</summary>
    public (Tensor Pooled, Tensor Tokens) EncodeWithTokens(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var mask = ids.to(@bool);
        var hidden = transformer.HiddenStates(ids, mask);
        var pooled = Head(transformer.Pool(hidden, mask));
        return (pooled.MoveToOuterDisposeScope(), proj.forward(hidden).MoveToOuterDisposeScope());
    }

    /// <summary>The encoder's pooled output: what locking the encoder freezes (the projection is in no lock
    /// group).</summary>
    public Tensor LockedPart(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var mask = ids.to(@bool);
        return transformer.Pool(transformer.HiddenStates(ids, mask), mask).MoveToOuterDisposeScope();
    }

    public Tensor Head(Tensor locked) => proj.forward(locked);
}

/// <summary>The image tower's settings in a model config (<c>vision_cfg.imagenet_resnet</c>).</summary>
public sealed record ImageNetResNetVision
{
    public ImageResNetConfig Trunk { get; init; } = new();

    /// <summary>The trunk takes BGR input minus a mean image kept with the weights (CNTK's ImageNet models).</summary>
    public bool BgrMeanImage { get; init; }

    public static string Json(ImageNetResNetVision? v) =>
        v is null
            ? ""
            : new System.Text.Json.Nodes.JsonObject
            {
                ["layers"] = new System.Text.Json.Nodes.JsonArray(
                    v.Trunk.Layers.Select(x => (System.Text.Json.Nodes.JsonNode)x).ToArray()
                ),
                ["bottleneck"] = v.Trunk.Bottleneck,
                ["width"] = v.Trunk.Width,
                ["padding"] = v.Trunk.Padding == ResNetPadding.SameLower ? "same_lower" : "symmetric",
                ["bgr_mean_image"] = v.BgrMeanImage,
            }.ToJsonString();

    public static ImageNetResNetVision? Parse(System.Text.Json.Nodes.JsonNode? node, string source)
    {
        if (node is null)
            return null;
        try
        {
            return new ImageNetResNetVision
            {
                Trunk = new ImageResNetConfig
                {
                    Layers = node["layers"]?.AsArray().Select(x => x!.GetValue<int>()).ToArray() ?? [2, 2, 2, 2],
                    Bottleneck = node["bottleneck"]?.GetValue<bool>() ?? false,
                    Width = node["width"]?.GetValue<int>() ?? 64,
                    Padding = (node["padding"]?.GetValue<string>() ?? "symmetric") switch
                    {
                        "symmetric" => ResNetPadding.Symmetric,
                        "same_lower" => ResNetPadding.SameLower,
                        var other => throw new InvalidDataException(
                            $"{source}: vision_cfg.imagenet_resnet.padding '{other}': symmetric or same_lower."
                        ),
                    },
                },
                BgrMeanImage = node["bgr_mean_image"]?.GetValue<bool>() ?? false,
            };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{source}: vision_cfg.imagenet_resnet: {e.Message}");
        }
    }
}
