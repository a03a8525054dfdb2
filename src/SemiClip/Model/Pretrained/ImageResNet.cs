using SemiClip.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SemiClip.Model.Pretrained;

/// <summary>How a ResNet's convolutions and max pool are padded. <c>symmetric</c> is torchvision's (k/2 on every
/// side); <c>same_lower</c> is ONNX's SAME_LOWER as CNTK and Keras-era exports use it: the output is ceil(size /
/// stride) and an odd total padding puts its extra pixel at the top and left.</summary>
public enum ResNetPadding
{
    Symmetric,
    SameLower,
}

/// <summary>An ImageNet-style ResNet (timm/torchvision, not CLIP's ModifiedResNet).</summary>
public sealed record ImageResNetConfig
{
    /// <summary>Blocks per stage: ResNet18 is 2,2,2,2; the CNTK ResNet18 ML.NET ships is 2,2,2,3.</summary>
    public int[] Layers { get; init; } = [2, 2, 2, 2];

    /// <summary>Bottleneck blocks (ResNet50 and deeper) instead of basic ones.</summary>
    public bool Bottleneck { get; init; }

    /// <summary>Channels of the stem and the first stage; each later stage doubles them.</summary>
    public int Width { get; init; } = 64;

    public ResNetPadding Padding { get; init; } = ResNetPadding.Symmetric;
    public double BatchNormEps { get; init; } = 1e-5;

    /// <summary>Width of the pooled feature: the last stage's channels.</summary>
    public int FeatureWidth => Width * 8 * (Bottleneck ? 4 : 1);
}

/// <summary>The ResNet trunk in torchvision's parameter names (<c>conv1</c>, <c>bn1</c>, <c>layerN.i.convK</c>,
/// <c>layerN.i.downsample.0/1</c>), ending in a global average pool: [B, 3, H, W] → [B, FeatureWidth].</summary>
public sealed class ImageResNet : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly List<ResNetBlock> _blocks = new(); // registered stage by stage as layerN, torchvision's names

    public ImageResNetConfig Config { get; }

    public ImageResNet(ImageResNetConfig config)
        : base("ImageResNet")
    {
        Config = config;
        conv1 = nn.Conv2d(3, config.Width, 7, stride: 2, bias: false);
        bn1 = nn.BatchNorm2d(config.Width, eps: config.BatchNormEps);
        int inChannels = config.Width;
        for (int stage = 0; stage < config.Layers.Length; stage++)
        {
            int width = config.Width << stage;
            var layer = new List<ResNetBlock>();
            for (int i = 0; i < config.Layers[stage]; i++)
            {
                var block = new ResNetBlock(
                    inChannels,
                    width,
                    stride: stage > 0 && i == 0 ? 2 : 1,
                    config.Bottleneck,
                    config.Padding,
                    config.BatchNormEps
                );
                layer.Add(block);
                inChannels = block.OutChannels;
            }
            _blocks.AddRange(layer);
            register_module($"layer{stage + 1}", nn.ModuleList(layer.ToArray()));
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Pool(SpatialFeatures(x));

    /// <summary>The last stage's feature map [B, FeatureWidth, h, w].</summary>
    public Tensor SpatialFeatures(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = nn.functional.relu(bn1.forward(conv1.forward(Pad.For(x, 7, 2, Config.Padding))));
        x = nn.functional.max_pool2d(Pad.For(x, 3, 2, Config.Padding, double.NegativeInfinity), 3, 2);
        foreach (var block in _blocks)
            x = block.forward(x);
        return x.MoveToOuterDisposeScope();
    }

    public static Tensor Pool(Tensor features) => features.mean([2, 3]);

    /// <summary>Loads torchvision-named weights (<c>conv1.weight</c>, <c>layer1.0.bn1.running_mean</c>, …), as a
    /// torchvision or timm ResNet's safetensors holds them; <c>fc.*</c> (the ImageNet classifier) is not part of the
    /// trunk and is skipped.</summary>
    public void LoadByName(IReadOnlyDictionary<string, Tensor> weights, string source) =>
        TowerWeights.LoadByName(
            this,
            weights
                .Where(kv => !kv.Key.StartsWith("fc.", StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key, kv => kv.Value),
            source,
            optional: name => name.EndsWith("num_batches_tracked", StringComparison.Ordinal)
        );

    /// <summary>Loads the weights of an ONNX ResNet (Conv → BatchNormalization pairs, in graph order: the stem, then
    /// per block its projection shortcut if any, then its convolutions) and checks every shape and the padding each
    /// convolution declares against <paramref name="config"/>.</summary>
    public static ImageResNet FromOnnx(OnnxWeights onnx, ImageResNetConfig config)
    {
        var pairs = new List<(Onnx.NodeProto Conv, Onnx.NodeProto Norm)>();
        var normOf = onnx.Nodes.Where(n => n.OpType == "BatchNormalization").ToDictionary(n => n.Input[0]);
        foreach (var conv in onnx.Nodes.Where(n => n.OpType == "Conv"))
        {
            if (!normOf.TryGetValue(conv.Output[0], out var norm))
                throw new InvalidDataException(
                    $"{onnx.Source}: convolution {conv.Name} is not followed by a batch norm; not a ResNet trunk."
                );
            pairs.Add((conv, norm));
        }
        var model = new ImageResNet(config);
        var targets = new List<(Conv2d Conv, BatchNorm2d Norm, string Name)> { (model.conv1, model.bn1, "conv1") };
        foreach (var (block, i) in model._blocks.Select((b, i) => (b, i)))
            targets.AddRange(block.ConvolutionsInGraphOrder().Select(t => (t.Conv, t.Norm, $"block {i} {t.Name}")));
        if (targets.Count != pairs.Count)
            throw new InvalidDataException(
                $"{onnx.Source}: {pairs.Count} convolutions, but a ResNet with stages "
                    + $"{string.Join(",", config.Layers)} has {targets.Count}."
            );
        using var _ = no_grad();
        for (int i = 0; i < pairs.Count; i++)
        {
            var (conv, norm) = pairs[i];
            var (targetConv, targetNorm, name) = targets[i];
            CheckPadding(onnx.Source, conv, targetConv, config.Padding, name);
            Copy(onnx, conv.Input[1], targetConv.weight!, name);
            float eps = OnnxWeights.Float(norm, "epsilon", 1e-5f);
            if (Math.Abs(eps - config.BatchNormEps) > 1e-9)
                throw new InvalidDataException($"{onnx.Source}: {name}'s batch norm has epsilon {eps}.");
            Copy(onnx, norm.Input[1], targetNorm.weight!, name + " scale");
            Copy(onnx, norm.Input[2], targetNorm.bias!, name + " bias");
            Copy(onnx, norm.Input[3], targetNorm.running_mean!, name + " mean");
            Copy(onnx, norm.Input[4], targetNorm.running_var!, name + " variance");
        }
        return model;
    }

    static void Copy(OnnxWeights onnx, string source, Tensor target, string what)
    {
        var value = onnx.Get(source);
        if (!value.shape.SequenceEqual(target.shape))
            throw new InvalidDataException(
                $"{onnx.Source}: {what} ({source}) has shape [{string.Join(",", value.shape)}], the tower expects "
                    + $"[{string.Join(",", target.shape)}]."
            );
        target.copy_(value);
    }

    // The file states each convolution's padding; it must be the one the tower will apply.
    static void CheckPadding(string source, Onnx.NodeProto conv, Conv2d target, ResNetPadding padding, string name)
    {
        var pads = OnnxWeights.Ints(conv, "pads") ?? [0, 0, 0, 0];
        int k = (int)target.weight!.shape[2];
        int stride = (int)(OnnxWeights.Ints(conv, "strides")?[0] ?? 1);
        // At the sizes these files are made for (multiples of 32), SAME_LOWER's split depends only on k and stride.
        var expected = padding == ResNetPadding.Symmetric
            ? new long[] { k / 2, k / 2, k / 2, k / 2 }
            : Pad.SameLowerAtEvenSize(k, stride);
        if (!pads.SequenceEqual(expected))
            throw new InvalidDataException(
                $"{source}: {name} pads [{string.Join(",", pads)}], but padding {padding} gives "
                    + $"[{string.Join(",", expected)}]."
            );
    }
}

/// <summary>A basic (two 3×3) or bottleneck (1×1, 3×3, 1×1 ×4) residual block with torchvision's names; the stride
/// is on the 3×3 convolution (ResNet v1.5) and a projection shortcut (<c>downsample</c>) when the shape
/// changes.</summary>
public sealed class ResNetBlock : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly Conv2d conv2;
    readonly BatchNorm2d bn2;
    readonly Conv2d? conv3;
    readonly BatchNorm2d? bn3;
    readonly Sequential? downsample;
    readonly int _stride;
    readonly ResNetPadding _padding;

    public int OutChannels { get; }

    public ResNetBlock(int inChannels, int width, int stride, bool bottleneck, ResNetPadding padding, double eps)
        : base("ResNetBlock")
    {
        (_stride, _padding) = (stride, padding);
        OutChannels = bottleneck ? width * 4 : width;
        if (bottleneck)
        {
            conv1 = nn.Conv2d(inChannels, width, 1, bias: false);
            conv2 = nn.Conv2d(width, width, 3, stride: stride, bias: false);
            conv3 = nn.Conv2d(width, OutChannels, 1, bias: false);
            bn3 = nn.BatchNorm2d(OutChannels, eps: eps);
        }
        else
        {
            conv1 = nn.Conv2d(inChannels, width, 3, stride: stride, bias: false);
            conv2 = nn.Conv2d(width, width, 3, bias: false);
        }
        bn1 = nn.BatchNorm2d(width, eps: eps);
        bn2 = nn.BatchNorm2d(width, eps: eps);
        if (stride != 1 || inChannels != OutChannels)
            downsample = nn.Sequential(
                ("0", nn.Conv2d(inChannels, OutChannels, 1, stride: stride, bias: false)),
                ("1", nn.BatchNorm2d(OutChannels, eps: eps))
            );
        RegisterComponents();
    }

    /// <summary>Convolutions with their batch norms in the order an exported graph lists them: the shortcut first
    /// (it reads the block's input), then the main path.</summary>
    public IEnumerable<(Conv2d Conv, BatchNorm2d Norm, string Name)> ConvolutionsInGraphOrder()
    {
        if (downsample != null)
            yield return ((Conv2d)downsample[0], (BatchNorm2d)downsample[1], "downsample");
        yield return (conv1, bn1, "conv1");
        yield return (conv2, bn2, "conv2");
        if (conv3 != null)
            yield return (conv3, bn3!, "conv3");
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor Conv(Conv2d conv, Tensor input, int stride) =>
            conv.forward(Pad.For(input, (int)conv.weight!.shape[2], stride, _padding));
        bool bottleneck = conv3 != null;
        var y = nn.functional.relu(bn1.forward(Conv(conv1, x, bottleneck ? 1 : _stride)));
        y = bn2.forward(Conv(conv2, y, bottleneck ? _stride : 1));
        if (conv3 != null)
            y = bn3!.forward(conv3.forward(nn.functional.relu(y)));
        var shortcut = downsample is null ? x : downsample.forward(x);
        return nn.functional.relu(y.Plus(shortcut)).MoveToOuterDisposeScope();
    }
}

/// <summary>Explicit padding for either convention (LibTorch's convolutions pad symmetrically only).</summary>
static class Pad
{
    public static Tensor For(Tensor x, int k, int stride, ResNetPadding padding, double value = 0)
    {
        var (top, bottom) = Amount((int)x.shape[2], k, stride, padding);
        var (left, right) = Amount((int)x.shape[3], k, stride, padding);
        if (top == 0 && bottom == 0 && left == 0 && right == 0)
            return x.alias();
        return nn.functional.pad(x, [left, right, top, bottom], PaddingModes.Constant, value);
    }

    static (long Begin, long End) Amount(int size, int k, int stride, ResNetPadding padding)
    {
        if (padding == ResNetPadding.Symmetric)
            return (k / 2, k / 2);
        int output = (size + stride - 1) / stride;
        int total = Math.Max((output - 1) * stride + k - size, 0);
        return (total - total / 2, total / 2);
    }

    /// <summary>ONNX's pads (top, left, bottom, right) for SAME_LOWER at an even input size.</summary>
    public static long[] SameLowerAtEvenSize(int k, int stride)
    {
        var (begin, end) = Amount(224, k, stride, ResNetPadding.SameLower);
        return [begin, begin, end, end];
    }
}
