using SemiClip.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace SemiClip.Training;

/// <summary>AdamW with decoupled weight decay, the same update as torch.optim.AdamW. Parameters with
/// fewer than 2 dimensions (biases, norm gains, the class embedding) and <c>logit_scale</c> are not
/// decayed: open_clip's rule, under which 2-D embeddings are decayed. Written here (not TorchSharp's
/// optimiser) so its state is plain named tensors that checkpoints store in safetensors, and so bf16
/// training can keep float32 master weights.</summary>
public sealed class AdamW : IDisposable
{
    sealed class Slot
    {
        public required string Name;
        public required TorchSharp.Modules.Parameter Parameter;
        public required Tensor ExpAvg,
            ExpAvgSq;
        public Tensor? Master; // float32 copy when the model is in bf16
        public bool Decay;
        public double LrScale = 1; // layer-wise learning-rate decay
    }

    readonly List<Slot> _slots = new();
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.98;
    public double Eps { get; init; } = 1e-6;
    public double WeightDecay { get; init; } = 0.2;
    public long Step { get; private set; }

    /// <param name="lrScales">Per-parameter learning-rate multipliers (layer-wise decay); absent names: 1.</param>
    public AdamW(
        IEnumerable<(string Name, TorchSharp.Modules.Parameter Parameter)> parameters,
        IReadOnlyDictionary<string, double>? lrScales = null
    )
    {
        using var _ = no_grad();
        foreach (var (name, p) in parameters)
        {
            if (!p.requires_grad)
                continue;
            var master = p.dtype == ScalarType.Float32 ? null : p.detach().to(float32).clone();
            _slots.Add(
                new Slot
                {
                    Name = name,
                    Parameter = p,
                    Master = master,
                    Decay = !IsExcludedFromDecay(name, p),
                    LrScale = lrScales?.GetValueOrDefault(name, 1) ?? 1,
                    ExpAvg = zeros(p.shape, float32, p.device),
                    ExpAvgSq = zeros(p.shape, float32, p.device),
                }
            );
        }
    }

    public static bool IsExcludedFromDecay(string name, Tensor p) =>
        p.dim() < 2 || name.Contains("logit_scale", StringComparison.Ordinal);

    public IEnumerable<string> DecayedNames => _slots.Where(s => s.Decay).Select(s => s.Name);
    public IEnumerable<TorchSharp.Modules.Parameter> Parameters => _slots.Select(s => s.Parameter);

    public void ZeroGrad()
    {
        foreach (var s in _slots)
            s.Parameter.grad?.zero_();
    }

    public void Update(double lr)
    {
        Step++;
        double bc1 = 1 - Math.Pow(Beta1, Step),
            bc2 = 1 - Math.Pow(Beta2, Step);
        using var _ = no_grad();
        foreach (var s in _slots)
        {
            using var scope = NewDisposeScope();
            var grad = s.Parameter.grad;
            if (grad is null)
                continue;
            var g = grad.dtype == ScalarType.Float32 ? grad : grad.to(float32);
            var weights = s.Master ?? s.Parameter;
            double slotLr = lr * s.LrScale; // as a torch param group with its own lr: the decay uses it too
            if (s.Decay && WeightDecay > 0)
                weights.Times_(1 - slotLr * WeightDecay);
            s.ExpAvg.Times_(Beta1).PlusScaled_(g, 1 - Beta1);
            s.ExpAvgSq.Times_(Beta2).PlusProduct_(g, g, 1 - Beta2);
            // One temporary, updated in place (as torch.optim.AdamW does): at 150M parameters each extra temporary
            // is another pass over the optimiser's memory.
            var denom = s.ExpAvgSq.sqrt().DividedBy_(Math.Sqrt(bc2)).Plus_(Eps);
            weights.PlusQuotient_(s.ExpAvg, denom, -slotLr / bc1);
            if (s.Master is not null)
                s.Parameter.copy_(s.Master);
        }
    }

    /// <summary>Clamps a parameter in place, and its float32 master copy too (bf16), so the next update does not
    /// copy an out-of-range master value back over the clamped one.</summary>
    public void Clamp(TorchSharp.Modules.Parameter parameter, double min, double max)
    {
        using var _ = no_grad();
        foreach (var s in _slots.Where(s => ReferenceEquals(s.Parameter, parameter)))
            s.Master?.Clamp_(min, max);
        parameter.Clamp_(min, max);
    }

    /// <summary>Named state tensors for a checkpoint (the step count goes into metadata).</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> StateTensors()
    {
        foreach (var s in _slots)
        {
            yield return new($"optim.exp_avg.{s.Name}", s.ExpAvg);
            yield return new($"optim.exp_avg_sq.{s.Name}", s.ExpAvgSq);
            if (s.Master is not null)
                yield return new($"optim.master.{s.Name}", s.Master);
            if (s.LrScale != 1)
                yield return new($"optim.lr_scale.{s.Name}", tensor(new[] { s.LrScale }));
        }
    }

    public IReadOnlyDictionary<string, double> LearningRateScales => _slots.ToDictionary(s => s.Name, s => s.LrScale);

    /// <param name="newScales">The run continues with changed layer-wise decay (allowed config change): the
    /// checkpoint's multipliers give way to this optimiser's; otherwise they must agree, or the continuation would not
    /// be exact.</param>
    public void LoadState(Func<string, Tensor?> read, long step, string source, bool newScales = false)
    {
        using var _ = no_grad();
        foreach (var s in _slots)
        {
            using (var saved = read($"optim.lr_scale.{s.Name}"))
            {
                double was = saved is null ? 1 : saved.to(float64).cpu().data<double>()[0];
                if (!newScales && Math.Abs(was - s.LrScale) > 1e-12)
                    throw new InvalidDataException(
                        $"{source}: '{s.Name}' was trained at {was} × lr, the config now gives {s.LrScale} × "
                            + "(image_layer_decay / text_layer_decay changed): resume with the saved values, or "
                            + "allow the change."
                    );
            }
            foreach (
                var (key, target) in new[]
                {
                    ($"optim.exp_avg.{s.Name}", s.ExpAvg),
                    ($"optim.exp_avg_sq.{s.Name}", s.ExpAvgSq),
                }.Concat(
                    s.Master is null ? Array.Empty<(string, Tensor)>() : new[] { ($"optim.master.{s.Name}", s.Master) }
                )
            )
            {
                using var t = read(key)
                    ?? throw new InvalidDataException($"{source}: optimiser state '{key}' missing.");
                target.copy_(t);
            }
        }
        Step = step;
    }

    public void Dispose()
    {
        foreach (var s in _slots)
        {
            s.ExpAvg.Dispose();
            s.ExpAvgSq.Dispose();
            s.Master?.Dispose();
        }
    }
}
