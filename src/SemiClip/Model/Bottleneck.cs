using SemiClip.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>OpenAI's ResNet bottleneck: every convolution has stride 1 and downsampling is an average
/// pool after the 3×3 convolution (and before the 1×1 of the shortcut), which avoids aliasing.</summary>
public sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    public const int Expansion = 4;
    readonly Conv2d conv1,
        conv2,
        conv3;
    readonly BatchNorm2d bn1,
        bn2,
        bn3;
    readonly ReLU relu1,
        relu2,
        relu3;
    readonly nn.Module<Tensor, Tensor> avgpool;
    readonly Sequential? downsample;

    public Bottleneck(int inplanes, int planes, int stride, Generator? generator = null)
        : base("Bottleneck")
    {
        conv1 = InitialWeights.Conv2d(inplanes, planes, 1, generator);
        bn1 = nn.BatchNorm2d(planes);
        relu1 = nn.ReLU(inplace: true);
        conv2 = InitialWeights.Conv2d(planes, planes, 3, generator, padding: 1);
        bn2 = nn.BatchNorm2d(planes);
        relu2 = nn.ReLU(inplace: true);
        avgpool = stride > 1 ? nn.AvgPool2d(stride) : nn.Identity();
        conv3 = InitialWeights.Conv2d(planes, planes * Expansion, 1, generator);
        bn3 = nn.BatchNorm2d(planes * Expansion);
        relu3 = nn.ReLU(inplace: true);
        if (stride > 1 || inplanes != planes * Expansion)
            downsample = nn.Sequential(
                ("-1", nn.AvgPool2d(stride)),
                ("0", InitialWeights.Conv2d(inplanes, planes * Expansion, 1, generator)),
                ("1", nn.BatchNorm2d(planes * Expansion))
            );
        RegisterComponents();
        using var _ = no_grad();
        // open_clip zero-initialises the last norm of each residual branch.
        Tensors.Parameters.Initialise(bn3.weight!, w => w.zero_());
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = relu1.forward(bn1.forward(conv1.forward(x)));
        h = relu2.forward(bn2.forward(conv2.forward(h)));
        h = bn3.forward(conv3.forward(avgpool.forward(h)));
        var identity = downsample is null ? x : downsample.forward(x);
        return relu3.forward(h.Plus(identity)).MoveToOuterDisposeScope();
    }
}
