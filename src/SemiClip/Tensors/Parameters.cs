using static TorchSharp.torch;

namespace SemiClip.Tensors;

/// <summary>In-place initialisation of a module's parameter with its managed wrapper kept alive until LibTorch
/// returns. A native TorchSharp module (nn.Embedding) hands out a new wrapper each time its weight is read; used as a
/// temporary (<c>embedding.weight!.normal_(…)</c>), that wrapper can be finalised by a garbage collection on another
/// thread while the call runs, and LibTorch then writes through a freed tensor (a crashed test host, in
/// <c>bump_version</c> under <c>normal_</c>, in a crash dump).</summary>
public static class Parameters
{
    public static void Initialise(Tensor parameter, Action<Tensor> initialise)
    {
        initialise(parameter);
        GC.KeepAlive(parameter);
    }
}
