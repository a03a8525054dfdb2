using SemiClip.Losses;
using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Curation;

/// <summary>One unpaired image worth captioning: its index among the unpaired images, the score that ranked
/// it, the two parts of that score, and its nearest paired image (index).</summary>
public sealed record Suggestion(int Index, double Score, double Uncertainty, double Novelty, int NearestPaired);

/// <summary>Which unpaired images a caption would help most, from S-CLIP's own view of them. An image is
/// worth captioning when the transport step cannot place it (its plan row over the paired images is flat:
/// <c>uncertainty</c> = row entropy / log P) and when no paired image is near it (<c>novelty</c> =
/// (1 − max cosine) / 2); the score is their mean. Picking is greedy with a redundancy penalty
/// (maximal marginal relevance): each pick lowers the value of images similar to it by
/// <c>diversity</c> × their cosine, so the list does not pile into one cluster.</summary>
public static class CaptionSuggester
{
    /// <param name="paired">P×D normalised image features of the captioned images.</param>
    /// <param name="unpaired">U×D normalised image features of the candidates.</param>
    /// <param name="logitScale">The model's s; the transport uses ε = 1/s as S-CLIP does.</param>
    public static List<Suggestion> Rank(
        Tensor paired,
        Tensor unpaired,
        double logitScale,
        int top,
        double diversity = 0.5
    )
    {
        if (paired.shape[0] < 2)
            throw new ArgumentException("suggestions need at least two captioned images to compare against.");
        if (top < 1)
            throw new ArgumentOutOfRangeException(nameof(top), top, "must be at least 1");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var u = unpaired.to(float64).cpu();
        var p = paired.to(float64).cpu();
        long count = u.shape[0],
            pairedCount = p.shape[0];
        var similarity = u.matmul(p.t()); // U×P
        var plan = Sinkhorn.RowNormalisedPlan(similarity.SubtractedFrom(1), 1.0 / logitScale, 10);
        var entropy = -(plan * plan.AtLeast(1e-300).log()).sum(1);
        var uncertainty = entropy.DividedBy(Math.Log(pairedCount)).data<double>().ToArray();
        var (best, nearest) = similarity.max(1);
        var novelty = best.SubtractedFrom(1).DividedBy(2).data<double>().ToArray();
        var nearestIndex = nearest.data<long>().ToArray();

        var value = new double[count];
        for (int i = 0; i < count; i++)
            value[i] = (uncertainty[i] + novelty[i]) / 2;
        var redundancy = new double[count];
        var picked = new bool[count];
        var result = new List<Suggestion>();
        for (int k = 0; k < Math.Min(top, count); k++)
        {
            int choice = -1;
            double bestValue = double.NegativeInfinity;
            for (int i = 0; i < count; i++)
            {
                if (picked[i])
                    continue;
                double v = value[i] - diversity * redundancy[i];
                if (v > bestValue)
                    (bestValue, choice) = (v, i);
            }
            picked[choice] = true;
            result.Add(
                new Suggestion(choice, value[choice], uncertainty[choice], novelty[choice], (int)nearestIndex[choice])
            );
            using var step = NewDisposeScope();
            var toChoice = u.matmul(u[choice]).data<double>().ToArray();
            for (int i = 0; i < count; i++)
                redundancy[i] = Math.Max(redundancy[i], Math.Max(0, toChoice[i]));
        }
        return result;
    }
}
