using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Losses;

/// <summary>Named, already weighted loss parts (open_clip's output_dict); the total is their sum.</summary>
public sealed class LossOutput
{
    readonly List<(string Name, Tensor Value)> _parts = new();

    public IReadOnlyList<(string Name, Tensor Value)> Parts => _parts;

    /// <summary>Measurements that are not loss terms (pseudo-label diagnostics), by name.</summary>
    public Dictionary<string, double> Diagnostics { get; } = new();

    public LossOutput Add(string name, Tensor value)
    {
        _parts.Add((name, value));
        return this;
    }

    public Tensor Total()
    {
        Tensor total = _parts[0].Value;
        for (int i = 1; i < _parts.Count; i++)
            total = total.Plus(_parts[i].Value);
        return total;
    }

    public Dictionary<string, double> ToDoubles() =>
        _parts.ToDictionary(p => p.Name, p => p.Value.detach().cpu().to(float64).item<double>());
}
