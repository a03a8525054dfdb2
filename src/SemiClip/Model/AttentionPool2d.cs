using SemiClip.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>CLIP's attention pooling: the mean of the feature map, prepended as a query token, attends
/// over all positions (separate q/k/v projections, output projection c_proj).</summary>
public sealed class AttentionPool2d : nn.Module<Tensor, Tensor>
{
    readonly Parameter positional_embedding;
    readonly Linear k_proj,
        q_proj,
        v_proj,
        c_proj;
    readonly int _heads;

    public AttentionPool2d(int spacialDim, int embedDim, int heads, int outputDim, Generator? generator = null)
        : base("AttentionPool2d")
    {
        _heads = heads;
        positional_embedding = nn.Parameter(
            randn([spacialDim * spacialDim + 1, embedDim], generator: generator).DividedBy(Math.Sqrt(embedDim))
        );
        k_proj = InitialWeights.Linear(embedDim, embedDim, generator);
        q_proj = InitialWeights.Linear(embedDim, embedDim, generator);
        v_proj = InitialWeights.Linear(embedDim, embedDim, generator);
        c_proj = InitialWeights.Linear(embedDim, outputDim, generator);
        RegisterComponents();
        using var _ = no_grad();
        double std = Math.Pow(embedDim, -0.5);
        foreach (var l in new[] { q_proj, k_proj, v_proj, c_proj })
            Tensors.Parameters.Initialise(l.weight!, w => w.normal_(0, std, generator));
    }

    public override Tensor forward(Tensor x) => PoolWithTokens(x).Pooled;

    /// <summary>Pooled output and, per position, the value path (v_proj then c_proj), which is what
    /// the pooled output averages: a projection of the spatial tokens into the joint space.</summary>
    public (Tensor Pooled, Tensor Tokens) PoolWithTokens(Tensor featureMap)
    {
        using var scope = NewDisposeScope();
        var x = featureMap.flatten(2).transpose(1, 2); // [B, HW, C]
        x = cat(new[] { x.mean(new long[] { 1 }, keepdim: true), x }, 1).Plus(positional_embedding.to(x.dtype));
        long b = x.shape[0],
            n = x.shape[1],
            c = x.shape[2],
            hd = c / _heads;
        var q = q_proj.forward(x.narrow(1, 0, 1)).view(b, 1, _heads, hd).transpose(1, 2);
        var k = k_proj.forward(x).view(b, n, _heads, hd).transpose(1, 2);
        var v = v_proj.forward(x);
        var vh = v.view(b, n, _heads, hd).transpose(1, 2);
        var pooled = nn.functional.scaled_dot_product_attention(q, k, vh).transpose(1, 2).reshape(b, c);
        pooled = c_proj.forward(pooled);
        var tokens = c_proj.forward(v.narrow(1, 1, n - 1));
        return (pooled.MoveToOuterDisposeScope(), tokens.MoveToOuterDisposeScope());
    }
}
