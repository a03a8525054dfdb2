namespace SemiClip.Data;

/// <summary>S-CLIP's semi-supervised setting made from one caption dataset: a seeded shuffle keeps
/// round(r·N) images with their captions (paired) and the rest as images only (unpaired).</summary>
public sealed record PairedUnpairedSplit(List<CaptionSample> Paired, List<string> Unpaired, double LabelRatio, int Seed)
{
    public static PairedUnpairedSplit Create(IReadOnlyList<CaptionSample> samples, double labelRatio, int seed)
    {
        if (labelRatio is <= 0 or > 1)
            throw new ArgumentOutOfRangeException(
                nameof(labelRatio),
                $"label_ratio must be in (0, 1], got {labelRatio}."
            );
        var order = Enumerable.Range(0, samples.Count).ToArray();
        new Random(seed).Shuffle(order);
        int paired = Math.Max(1, (int)Math.Round(labelRatio * samples.Count));
        var p = order.Take(paired).OrderBy(i => i).Select(i => samples[i]).ToList();
        var u = order.Skip(paired).OrderBy(i => i).Select(i => samples[i].ImagePath).ToList();
        return new PairedUnpairedSplit(p, u, labelRatio, seed);
    }
}
