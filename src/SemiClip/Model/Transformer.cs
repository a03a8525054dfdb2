using SemiClip.Tensors;
using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace SemiClip.Model;

// The transformer blocks in one place, as open_clip's transformer.py has them: attention, the residual block,
// the stack.

/// <summary>Multi-head self-attention with PyTorch's fused in-projection layout
/// (<c>in_proj_weight</c> [3·width, width], <c>in_proj_bias</c>, <c>out_proj</c>), so OpenAI/open_clip
/// weights load by name. Computed with scaled_dot_product_attention on [batch, tokens, width].</summary>
public sealed class SelfAttention : nn.Module<Tensor, Tensor>
{
    readonly Parameter in_proj_weight;
    readonly Parameter in_proj_bias;
    readonly Linear out_proj;
    readonly int _heads;

    public bool Causal { get; init; }

    public SelfAttention(int width, int heads)
        : base("SelfAttention")
    {
        _heads = heads;
        in_proj_weight = nn.Parameter(empty(3 * width, width));
        in_proj_bias = nn.Parameter(zeros(3 * width));
        out_proj = nn.Linear(width, width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0],
            n = x.shape[1],
            w = x.shape[2];
        var qkv = nn
            .functional.linear(x, in_proj_weight, in_proj_bias)
            .view(b, n, 3, _heads, w / _heads)
            .permute(2, 0, 3, 1, 4);
        var attended = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_casual: Causal);
        return out_proj.forward(attended.transpose(1, 2).reshape(b, n, w)).MoveToOuterDisposeScope();
    }

    public void Initialise(double inStd, double outStd)
    {
        using var _ = no_grad();
        nn.init.normal_(in_proj_weight, 0, inStd);
        in_proj_bias.zero_();
        nn.init.normal_(out_proj.weight!, 0, outStd);
        out_proj.bias!.zero_();
    }
}

/// <summary>Pre-norm transformer block as in OpenAI CLIP: x + attn(ln_1(x)), then x + mlp(ln_2(x)).</summary>
public sealed class ResidualAttentionBlock : nn.Module<Tensor, Tensor>
{
    readonly LayerNorm ln_1;
    readonly SelfAttention attn;
    readonly LayerNorm ln_2;
    readonly Sequential mlp;

    public ResidualAttentionBlock(int width, int heads, double mlpRatio, bool quickGelu, bool causal)
        : base("ResidualAttentionBlock")
    {
        int hidden = (int)(width * mlpRatio);
        ln_1 = nn.LayerNorm(width);
        attn = new SelfAttention(width, heads) { Causal = causal };
        ln_2 = nn.LayerNorm(width);
        mlp = nn.Sequential(
            ("c_fc", nn.Linear(width, hidden)),
            ("gelu", QuickGelu.Activation(quickGelu)),
            ("c_proj", nn.Linear(hidden, width))
        );
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x.Plus(attn.forward(ln_1.forward(x)));
        return h.Plus(mlp.forward(ln_2.forward(h))).MoveToOuterDisposeScope();
    }

    /// <summary>open_clip's initialisation for a stack of <paramref name="layers"/> blocks.</summary>
    public void Initialise(int width, int layers)
    {
        double projStd = Math.Pow(width, -0.5) * Math.Pow(2 * layers, -0.5);
        attn.Initialise(Math.Pow(width, -0.5), projStd);
        using var _ = no_grad();
        nn.init.normal_(
            ((Linear)mlp.named_children().First(c => c.name == "c_fc").module).weight!,
            0,
            Math.Pow(2 * width, -0.5)
        );
        nn.init.normal_(((Linear)mlp.named_children().First(c => c.name == "c_proj").module).weight!, 0, projStd);
    }
}

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
