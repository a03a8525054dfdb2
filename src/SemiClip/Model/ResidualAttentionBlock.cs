using SemiClip.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SemiClip.Model;

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
