using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>Weight-space ensembling (WiSE-FT, Wortsman et al. 2022): the model whose every weight is
/// (1 − α)·A + α·B for two models of the same architecture, typically the pretrained start A and a model B
/// fine-tuned from it. α = 0 is A, α = 1 is B; values between trade B's gains on the new domain against A's
/// zero-shot accuracy elsewhere, and often beat both ends on the sum.</summary>
public static class WeightInterpolation
{
    public static ClipModel Interpolate(
        ClipModel from,
        ClipModel to,
        double alpha,
        string fromName = "from",
        string toName = "to"
    )
    {
        if (!double.IsFinite(alpha))
            throw new ArgumentException($"alpha {alpha} is not a number.");
        if (from.Config != to.Config)
            throw new ArgumentException(
                $"{fromName} and {toName} have different architectures; interpolation needs two models of one "
                    + "architecture (a fine-tuned model and its start)."
            );
        var a = from.state_dict();
        var b = to.state_dict();
        var missing = a.Keys.Except(b.Keys).Concat(b.Keys.Except(a.Keys)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException(
                $"{fromName} and {toName} differ in weights: {string.Join(", ", missing.Take(5))}."
            );
        var result = new ClipModel(from.Config);
        var target = result.state_dict();
        using var _ = no_grad();
        foreach (var (name, wa) in a)
        {
            using var scope = NewDisposeScope();
            var wb = b[name];
            if (!wa.shape.SequenceEqual(wb.shape))
                throw new ArgumentException(
                    $"weight {name}: shape [{string.Join(", ", wa.shape)}] in {fromName}, "
                        + $"[{string.Join(", ", wb.shape)}] in {toName}."
                );
            if (!wa.is_floating_point())
            {
                target[name].copy_(wb);
                continue;
            } // integer buffers (e.g. position ids) are equal
            var mixed = wa.to(float32).Times(1 - alpha).PlusScaled(wb.to(float32), alpha);
            target[name].copy_(mixed);
        }
        return result;
    }
}
