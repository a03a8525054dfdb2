using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Losses;

/// <summary>Entropic optimal transport with uniform marginals, POT's <c>sinkhorn</c> (Sinkhorn–Knopp)
/// iteration carried out in the log domain and in float64, so a small regularisation ε (here 1/s,
/// about 0.01) cannot underflow exp(−C/ε):
/// v ← b / (Kᵀu), u ← a / (K v), K = exp(−C/ε), u₀ = 1/n, v₀ = 1/m; plan = diag(u) K diag(v).</summary>
public static class Sinkhorn
{
    /// <summary>The transport plan for cost <paramref name="cost"/> (n×m); float64.</summary>
    public static Tensor Plan(Tensor cost, double epsilon, int iterations)
    {
        using var scope = NewDisposeScope();
        var logK = cost.to(float64).DividedBy(-epsilon);
        long n = cost.shape[0],
            m = cost.shape[1];
        double logA = -Math.Log(n),
            logB = -Math.Log(m);
        var logU = Scalars.Full(n, logA, float64, cost.device);
        var logV = Scalars.Full(m, logB, float64, cost.device);
        for (int i = 0; i < iterations; i++)
        {
            logV = logK.Plus(logU.unsqueeze(1)).logsumexp(0).SubtractedFrom(logB);
            logU = logK.Plus(logV.unsqueeze(0)).logsumexp(1).SubtractedFrom(logA);
        }
        return logU.unsqueeze(1).Plus(logK).Plus(logV.unsqueeze(0)).exp().MoveToOuterDisposeScope();
    }

    /// <summary>The plan with each row normalised to sum 1: soft assignments of the n queries over the
    /// m supports. Equals softmaxⱼ(−Cᵢⱼ/ε + log vⱼ).</summary>
    public static Tensor RowNormalisedPlan(Tensor cost, double epsilon, int iterations)
    {
        using var scope = NewDisposeScope();
        var plan = Plan(cost, epsilon, iterations);
        return (plan / plan.sum(1, keepdim: true)).MoveToOuterDisposeScope();
    }
}
