using TorchSharp;
using static TorchSharp.torch;

namespace SemiClip.Model.Pretrained;

/// <summary>Loads a tower's state (parameters and buffers such as batch-norm statistics) from tensors named as the
/// tower names them: every entry of the tower must be given with its shape, and anything left over is an error, so a
/// file of another architecture is refused with what differs rather than loaded in part.</summary>
public static class TowerWeights
{
    /// <param name="optional">Entries of the tower a file may leave out (batch norm's step counter).</param>
    public static void LoadByName(
        nn.Module module,
        IReadOnlyDictionary<string, Tensor> weights,
        string source,
        Func<string, bool>? optional = null
    )
    {
        var given = new Dictionary<string, Tensor>(weights, StringComparer.Ordinal);
        var missing = new List<string>();
        using var _ = no_grad();
        foreach (var (name, target) in module.state_dict())
        {
            if (!given.Remove(name, out var value))
            {
                if (optional?.Invoke(name) != true)
                    missing.Add(name);
                continue;
            }
            if (!value.shape.SequenceEqual(target.shape))
                throw new InvalidDataException(
                    $"{source}: {name} has shape [{string.Join(",", value.shape)}], the tower expects "
                        + $"[{string.Join(",", target.shape)}] (is the configured size right?)."
                );
            target.copy_(value);
        }
        if (missing.Count > 0 || given.Count > 0)
            throw new InvalidDataException(
                $"{source}: not a {module.GetName()} of this shape"
                    + (missing.Count > 0 ? $"; missing {string.Join(", ", missing.Take(5))}" : "")
                    + (given.Count > 0 ? $"; unexpected {string.Join(", ", given.Keys.Take(5))}" : "")
                    + "."
            );
    }
}
