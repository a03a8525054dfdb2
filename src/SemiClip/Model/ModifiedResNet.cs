using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>OpenAI CLIP's ResNet: a three-convolution stem with average pooling, four stages of
/// <see cref="Bottleneck"/> blocks, and <see cref="AttentionPool2d"/> instead of global average pooling.</summary>
public sealed class ModifiedResNet : nn.Module<Tensor, Tensor>, IVisionTower
{
    readonly Conv2d conv1,
        conv2,
        conv3;
    readonly BatchNorm2d bn1,
        bn2,
        bn3;
    readonly ReLU relu1,
        relu2,
        relu3;
    readonly AvgPool2d avgpool;
    readonly Sequential layer1,
        layer2,
        layer3,
        layer4;
    readonly AttentionPool2d attnpool;

    public ModifiedResNet(VisionConfig cfg, int embedDim, Generator? generator = null)
        : base("ModifiedResNet")
    {
        int width = cfg.Width;
        var layers = cfg.ResNetLayers ?? throw new ArgumentException("ResNet config needs a list of layers.");
        conv1 = InitialWeights.Conv2d(3, width / 2, 3, generator, stride: 2, padding: 1);
        bn1 = nn.BatchNorm2d(width / 2);
        relu1 = nn.ReLU(inplace: true);
        conv2 = InitialWeights.Conv2d(width / 2, width / 2, 3, generator, padding: 1);
        bn2 = nn.BatchNorm2d(width / 2);
        relu2 = nn.ReLU(inplace: true);
        conv3 = InitialWeights.Conv2d(width / 2, width, 3, generator, padding: 1);
        bn3 = nn.BatchNorm2d(width);
        relu3 = nn.ReLU(inplace: true);
        avgpool = nn.AvgPool2d(2);
        int inplanes = width;
        Sequential Stage(int planes, int blocks, int stride)
        {
            var list = new List<(string, nn.Module<Tensor, Tensor>)>
            {
                ("0", new Bottleneck(inplanes, planes, stride, generator)),
            };
            inplanes = planes * Bottleneck.Expansion;
            for (int i = 1; i < blocks; i++)
                list.Add(
                    (
                        i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        new Bottleneck(inplanes, planes, 1, generator)
                    )
                );
            return nn.Sequential(list);
        }
        layer1 = Stage(width, layers[0], 1);
        layer2 = Stage(width * 2, layers[1], 2);
        layer3 = Stage(width * 4, layers[2], 2);
        layer4 = Stage(width * 8, layers[3], 2);
        attnpool = new AttentionPool2d(cfg.ImageSize / 32, width * 32, cfg.Heads, embedDim, generator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor images) => EncodeWithTokens(images).Pooled;

    public (Tensor Pooled, Tensor Tokens) EncodeWithTokens(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = relu1.forward(bn1.forward(conv1.forward(images)));
        x = relu2.forward(bn2.forward(conv2.forward(x)));
        x = relu3.forward(bn3.forward(conv3.forward(x)));
        x = avgpool.forward(x);
        x = layer4.forward(layer3.forward(layer2.forward(layer1.forward(x))));
        var (pooled, tokens) = attnpool.PoolWithTokens(x);
        return (pooled.MoveToOuterDisposeScope(), tokens.MoveToOuterDisposeScope());
    }
}
