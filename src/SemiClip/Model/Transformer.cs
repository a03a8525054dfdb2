using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>A stack of residual attention blocks, stored as <c>resblocks.N</c>.</summary>
public sealed class Transformer : nn.Module<Tensor, Tensor>
{
    readonly ModuleList<ResidualAttentionBlock> resblocks;

    public Transformer(int width, int layers, int heads, double mlpRatio, bool quickGelu, bool causal)
        : base("Transformer")
    {
        resblocks = new ModuleList<ResidualAttentionBlock>(
            Enumerable
                .Range(0, layers)
                .Select(_ => new ResidualAttentionBlock(width, heads, mlpRatio, quickGelu, causal))
                .ToArray()
        );
        foreach (var b in resblocks)
            b.Initialise(width, layers);
        RegisterComponents();
    }

    public int Layers => resblocks.Count;

    public override Tensor forward(Tensor x)
    {
        foreach (var block in resblocks)
        {
            var next = block.forward(x);
            x = next;
        }
        return x;
    }
}
