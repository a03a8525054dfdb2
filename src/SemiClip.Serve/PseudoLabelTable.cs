using SemiClip.Data;
using SemiClip.Losses;
using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Serve;

/// <summary>One captioned image's share of an unpaired image's pseudo-label.</summary>
public sealed record PlanWeight(int Image, double Weight);

/// <summary>What S-CLIP makes of one unpaired image: the captioned images its transport-plan row weights most, the
/// row's entropy (nats, and divided by ln of the captioned count: 0 = one caption, 1 = spread evenly), the keyword
/// candidates (the keywords in the nearest captioned image's captions, as the keyword loss takes them), and — when both
/// classes are known — whether the most-weighted caption's image has the unpaired image's class.</summary>
public sealed record PseudoLabel(
    int Image,
    IReadOnlyList<PlanWeight> Top,
    double Entropy,
    double NormalisedEntropy,
    int Nearest,
    IReadOnlyList<string> KeywordCandidates,
    bool? ClassRight
)
{
    public double Confidence => Top.Count > 0 ? Top[0].Weight : 0;
}

/// <summary>S-CLIP's caption-level pseudo-labels for the unpaired images of a collection, computed with the
/// trainer's own <see cref="PseudoLabeler"/> (optimal transport, ε = 1/logit scale unless the run fixed one).</summary>
public sealed class PseudoLabelTable
{
    public const int TopWeights = 5;
    public required IReadOnlyList<PseudoLabel> Rows { get; init; }

    /// <summary>Unpaired images left out of the plan (past <see cref="Collection.MaxPlannedImages"/>).</summary>
    public int NotPlanned { get; init; }

    public static PseudoLabelTable Compute(
        IReadOnlyList<ImageItem> images,
        Tensor features,
        IReadOnlyList<int> paired,
        IReadOnlyList<int> unpaired,
        double logitScale,
        int iterations,
        double epsilon,
        KeywordLabeler? keywords,
        int maxPlanned
    )
    {
        if (paired.Count == 0 || unpaired.Count == 0)
            return new PseudoLabelTable { Rows = [] };
        var planned = unpaired.ToList();
        if (planned.Count > maxPlanned)
        {
            var order = planned.ToArray();
            new Random(0).Shuffle(order);
            planned = order.Take(maxPlanned).Order().ToList();
        }
        using var scope = NewDisposeScope();
        var u = features.index_select(0, tensor(planned.Select(i => (long)i).ToArray()));
        var p = features.index_select(0, tensor(paired.Select(i => (long)i).ToArray()));
        var plan = PseudoLabeler.Assign(
            u,
            p,
            tensor(logitScale),
            PseudoLabelKind.OptimalTransport,
            iterations,
            detach: true,
            epsilon
        );
        int k = Math.Min(TopWeights, paired.Count);
        var (weights, columns) = plan.topk(k, dim: 1);
        var entropy = plan.AtLeast(1e-30).log().mul(plan).sum(1L).neg();
        var nearest = u.matmul(p.t()).argmax(1);
        var w = weights.data<float>().ToArray();
        var c = columns.data<long>().ToArray();
        var h = entropy.data<float>().ToArray();
        var n = nearest.data<long>().ToArray();
        double maxEntropy = Math.Log(paired.Count);
        var rows = new List<PseudoLabel>(planned.Count);
        for (int r = 0; r < planned.Count; r++)
        {
            var top = Enumerable
                .Range(0, k)
                .Select(j => new PlanWeight(paired[(int)c[r * k + j]], w[r * k + j]))
                .ToList();
            int near = paired[(int)n[r]];
            var candidates = keywords is null ? [] : Candidates(keywords, images[near].Captions);
            string? own = images[planned[r]].Label,
                chosen = images[top[0].Image].Label;
            rows.Add(
                new PseudoLabel(
                    planned[r],
                    top,
                    h[r],
                    maxEntropy > 0 ? h[r] / maxEntropy : 0,
                    near,
                    candidates,
                    own is null || chosen is null ? null : own == chosen
                )
            );
        }
        return new PseudoLabelTable { Rows = rows, NotPlanned = unpaired.Count - planned.Count };
    }

    static List<string> Candidates(KeywordLabeler keywords, IReadOnlyList<string> captions)
    {
        var hit = new bool[keywords.Keywords.Count];
        foreach (var caption in captions)
        {
            var labels = keywords.Label(caption);
            for (int i = 0; i < hit.Length; i++)
                hit[i] |= labels[i] > 0;
        }
        return keywords.Keywords.Where((_, i) => hit[i]).ToList();
    }
}
