using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SemiClip.Model;

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
