using SemiClip.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>OpenAI CLIP's activation, x·σ(1.702x). Its checkpoints are wrong without it.</summary>
public sealed class QuickGelu() : nn.Module<Tensor, Tensor>("QuickGelu")
{
    public override Tensor forward(Tensor x) => x * torch.sigmoid(x.Times(1.702));

    public static nn.Module<Tensor, Tensor> Activation(bool quick) => quick ? new QuickGelu() : nn.GELU();
}
