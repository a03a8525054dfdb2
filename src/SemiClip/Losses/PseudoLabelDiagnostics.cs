using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Losses;

/// <summary>How good S-CLIP's pseudo-labels are, measured on a batch (no gradient, nothing trained):
/// <list type="bullet">
/// <item><c>plan_entropy</c>: mean entropy (nats) of the plan's rows; log B is uniform. Always measured.</item>
/// <item><c>pseudo_label_precision</c>: of unpaired images with a known class, the fraction whose plan
/// argmax is a paired image of the same class.</item>
/// <item><c>no_partner_fraction</c>: of those, the fraction whose class has no paired image in the batch
/// (their pseudo-label cannot be right).</item>
/// <item><c>keyword_target_precision</c>: of unpaired rows that get keyword candidates and whose class is
/// named by a keyword, the fraction whose candidates include that keyword.</item>
/// </list></summary>
public static class PseudoLabelDiagnostics
{
    public static void Measure(
        Tensor plan,
        Tensor? pairedClasses,
        Tensor? unpairedClasses,
        Dictionary<string, double> into
    )
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var p = plan.detach().to(float64);
        var entropy = -(p * p.AtLeast(1e-300).log()).sum(1).mean();
        into["plan_entropy"] = entropy.cpu().item<double>();
        if (pairedClasses is null || unpairedClasses is null)
            return;

        var nearest = p.argmax(1).cpu().data<long>().ToArray();
        var pc = pairedClasses.cpu().data<long>().ToArray();
        var uc = unpairedClasses.cpu().data<long>().ToArray();
        var present = pc.Where(c => c >= 0).ToHashSet();
        int known = 0,
            correct = 0,
            orphan = 0;
        for (int i = 0; i < uc.Length; i++)
        {
            if (uc[i] < 0)
                continue;
            known++;
            if (pc[nearest[i]] == uc[i])
                correct++;
            if (!present.Contains(uc[i]))
                orphan++;
        }
        if (known == 0)
            return;
        into["pseudo_label_precision"] = (double)correct / known;
        into["no_partner_fraction"] = (double)orphan / known;
    }

    public static void MeasureKeywords(
        Tensor plan,
        Tensor keywordLabels,
        Tensor? unpairedClassKeyword,
        Dictionary<string, double> into
    )
    {
        if (unpairedClassKeyword is null)
            return;
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var candidates = keywordLabels.index_select(0, plan.detach().argmax(1)).cpu().to(float32); // U×K
        long k = candidates.shape[1];
        var c = candidates.data<float>().ToArray();
        var truth = unpairedClassKeyword.cpu().data<long>().ToArray();
        int rows = 0,
            hits = 0;
        for (int i = 0; i < truth.Length; i++)
        {
            bool any = false;
            for (long j = 0; j < k; j++)
                any |= c[i * k + j] > 0;
            if (!any || truth[i] < 0)
                continue;
            rows++;
            if (c[i * k + truth[i]] > 0)
                hits++;
        }
        if (rows > 0)
            into["keyword_target_precision"] = (double)hits / rows;
    }
}
