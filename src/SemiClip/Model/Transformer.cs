using SemiClip.Tensors;
using TorchSharp;
using TorchSharp.Modules;
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

    public SelfAttention(int width, int heads, Generator? generator = null)
        : base("SelfAttention")
    {
        _heads = heads;
        in_proj_weight = nn.Parameter(empty(3 * width, width));
        in_proj_bias = nn.Parameter(zeros(3 * width));
        out_proj = InitialWeights.Linear(width, width, generator);
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

    public void Initialise(double inStd, double outStd, Generator? generator)
    {
        using var _ = no_grad();
        in_proj_weight.normal_(0, inStd, generator);
        in_proj_bias.zero_();
        Tensors.Parameters.Initialise(out_proj.weight!, w => w.normal_(0, outStd, generator));
        Tensors.Parameters.Initialise(out_proj.bias!, b => b.zero_());
    }
}

/// <summary>Pre-norm transformer block as in OpenAI CLIP: x + attn(ln_1(x)), then x + mlp(ln_2(x)).</summary>
public sealed class ResidualAttentionBlock : nn.Module<Tensor, Tensor>
{
    readonly LayerNorm ln_1;
    readonly SelfAttention attn;
    readonly LayerNorm ln_2;
    readonly Sequential mlp;

    public ResidualAttentionBlock(
        int width,
        int heads,
        double mlpRatio,
        bool quickGelu,
        bool causal,
        Generator? generator = null
    )
        : base("ResidualAttentionBlock")
    {
        int hidden = (int)(width * mlpRatio);
        ln_1 = nn.LayerNorm(width);
        attn = new SelfAttention(width, heads, generator) { Causal = causal };
        ln_2 = nn.LayerNorm(width);
        mlp = nn.Sequential(
            ("c_fc", InitialWeights.Linear(width, hidden, generator)),
            ("gelu", QuickGelu.Activation(quickGelu)),
            ("c_proj", InitialWeights.Linear(hidden, width, generator))
        );
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x.Plus(attn.forward(ln_1.forward(x)));
        return h.Plus(mlp.forward(ln_2.forward(h))).MoveToOuterDisposeScope();
    }

    Tensor Weight(string mlpLayer) => ((Linear)mlp.named_children().First(c => c.name == mlpLayer).module).weight!;

    /// <summary>open_clip's initialisation for a stack of <paramref name="layers"/> blocks.</summary>
    public void Initialise(int width, int layers, Generator? generator)
    {
        double projStd = Math.Pow(width, -0.5) * Math.Pow(2 * layers, -0.5);
        attn.Initialise(Math.Pow(width, -0.5), projStd, generator);
        using var _ = no_grad();
        Weight("c_fc").normal_(0, Math.Pow(2 * width, -0.5), generator);
        Weight("c_proj").normal_(0, projStd, generator);
    }
}

/// <summary>A stack of residual attention blocks, stored as <c>resblocks.N</c>.</summary>
public sealed class Transformer : nn.Module<Tensor, Tensor>
{
    readonly ModuleList<ResidualAttentionBlock> resblocks;

    public Transformer(
        int width,
        int layers,
        int heads,
        double mlpRatio,
        bool quickGelu,
        bool causal,
        Generator? generator = null
    )
        : base("Transformer")
    {
        resblocks = new ModuleList<ResidualAttentionBlock>(
            Enumerable
                .Range(0, layers)
                .Select(_ => new ResidualAttentionBlock(width, heads, mlpRatio, quickGelu, causal, generator))
                .ToArray()
        );
        foreach (var b in resblocks)
            b.Initialise(width, layers, generator);
        RegisterComponents();
    }

    public int Layers => resblocks.Count;

    /// <summary>open_clip's grad_checkpointing: while gradients are recorded, each block keeps only its input and
    /// runs again during the backward pass, trading one more forward per block for its activations.</summary>
    public bool GradCheckpointing { get; set; }

    public override Tensor forward(Tensor x)
    {
        bool recompute = GradCheckpointing && is_grad_enabled();
        foreach (var block in resblocks)
        {
            var next = recompute ? RecomputedBlock.Run(block, x) : block.call(x);
            x = next;
        }
        return x;
    }
}

/// <summary>One residual block whose activations are not kept: the forward runs without recording, saves the block's
/// input, and the backward runs the block again with recording to take the gradients for its input and parameters.
/// The parameters are inputs of the node, so they get gradients even when the block's input needs none (a locked
/// tower below it). CLIP's blocks have no dropout, so the recomputation is exact.</summary>
sealed class RecomputedBlock : autograd.SingleTensorFunction<RecomputedBlock>
{
    public override string Name => nameof(RecomputedBlock);

    public static Tensor Run(ResidualAttentionBlock block, Tensor x)
    {
        var inputs = new List<object> { x, block };
        inputs.AddRange(block.parameters());
        return apply(inputs.ToArray());
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        ctx.save_for_backward([x]);
        ctx.save_data("block", vars[1]);
        ctx.save_data("input_needs_grad", x.requires_grad);
        return ((ResidualAttentionBlock)vars[1]).call(x);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var block = (ResidualAttentionBlock)ctx.get_data("block");
        var parameters = block.parameters().ToArray();
        using var scope = NewDisposeScope();
        using var recording = enable_grad();
        bool inputNeedsGrad = (bool)ctx.get_data("input_needs_grad");
        var x = ctx.get_saved_variables()[0].detach().requires_grad_(inputNeedsGrad);
        var output = block.call(x);
        var wrt = new List<Tensor>();
        if (inputNeedsGrad)
            wrt.Add(x);
        wrt.AddRange(parameters.Where(p => p.requires_grad));
        var grads = wrt.Count == 0 ? [] : autograd.grad([output], wrt, [grad_output], allow_unused: true);
        // One entry per forward argument: the input, the block (no gradient), each parameter.
        var result = new List<Tensor>();
        int next = 0;
        result.Add(inputNeedsGrad ? Outlive(grads[next++]) : null!);
        result.Add(null!);
        foreach (var p in parameters)
            result.Add(p.requires_grad ? Outlive(grads[next++]) : null!);
        return result;
    }

    static Tensor Outlive(Tensor t) => t is null || t.IsInvalid ? null! : t.MoveToOuterDisposeScope();
}
