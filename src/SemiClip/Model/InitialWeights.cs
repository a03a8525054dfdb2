using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>Layers whose starting weights come from a given generator (a run's seed), so building a model reads and
/// changes no process-wide random state. LibTorch's constructors draw their default initialisation from the global
/// generator and take none; with a generator, the same distributions (PyTorch's defaults: U(−1/√fan_in, 1/√fan_in)
/// for weights and biases of linear and convolution layers) are drawn again from it. Without one, LibTorch's own
/// draws stay, as when PyTorch builds the model. Draws go through the tensor's own <c>normal_</c> / <c>uniform_</c>:
/// TorchSharp 0.107's <c>nn.init.normal_</c> and <c>uniform_</c> accept a generator but ignore it.</summary>
static class InitialWeights
{
    public static Linear Linear(int inputs, int outputs, Generator? generator, bool hasBias = true)
    {
        var layer = nn.Linear(inputs, outputs, hasBias);
        Redraw(layer.weight!, layer.bias, inputs, generator);
        return layer;
    }

    public static Conv2d Conv2d(
        int inputs,
        int outputs,
        int kernel,
        Generator? generator,
        int stride = 1,
        int padding = 0
    )
    {
        var layer = nn.Conv2d(inputs, outputs, kernel, stride: stride, padding: padding, bias: false);
        Redraw(layer.weight!, null, inputs * kernel * kernel, generator);
        return layer;
    }

    static void Redraw(Tensor weight, Tensor? bias, int fanIn, Generator? generator)
    {
        if (generator is null)
            return;
        using var _ = no_grad();
        double bound = 1 / Math.Sqrt(fanIn);
        weight.uniform_(-bound, bound, generator);
        if (bias is not null)
            bias.uniform_(-bound, bound, generator);
    }
}
