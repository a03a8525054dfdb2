using static TorchSharp.torch;

namespace SemiClip.Evaluation;

/// <summary>Zero-shot classification results in the papers' conventions.</summary>
public sealed record ClassificationMetrics(
    double Top1,
    double Top5,
    double[] PerClassAccuracy,
    long[,] Confusion,
    IReadOnlyList<string> ClassNames
);

/// <summary>CLIP zero-shot classification: each class embedding is the mean of its normalised template
/// embeddings, re-normalised; an image's prediction is the class of highest cosine similarity.</summary>
public static class ZeroShotClassifier
{
    /// <summary>[classes, D] class embeddings from [classes·templates, D] normalised template embeddings.</summary>
    public static Tensor ClassEmbeddings(Tensor templateFeatures, int classes, int templatesPerClass)
    {
        var mean = templateFeatures.view(classes, templatesPerClass, -1).mean(new long[] { 1 });
        return nn.functional.normalize(mean, dim: -1);
    }

    public static IReadOnlyList<string> Prompts(IReadOnlyList<string> classNames, IReadOnlyList<string> templates) =>
        classNames.SelectMany(c => templates.Select(t => t.Replace("{}", c, StringComparison.Ordinal))).ToList();

    /// <summary>Top-1/top-5 accuracy (top-k clipped to the class count), per-class accuracy and the confusion matrix
    /// (rows: true class, columns: predicted). Ties in scores go to the lower class index.</summary> <param
    /// name="imageTile">Images scored at a time: memory holds imageTile × classes scores, never all of them.</param>
    public static ClassificationMetrics Evaluate(
        Tensor imageFeatures,
        Tensor classEmbeddings,
        IReadOnlyList<int> labels,
        IReadOnlyList<string> classNames,
        int imageTile = 8192
    )
    {
        int n = labels.Count,
            c = classNames.Count;
        using var scope = NewDisposeScope();
        int hits1 = 0,
            hits5 = 0;
        var confusion = new long[c, c];
        var perClassHits = new int[c];
        var perClassCount = new int[c];
        double[] s = [];
        for (int i = 0; i < n; i++)
        {
            int row = i % imageTile;
            if (row == 0)
                using (NewDisposeScope())
                    s = imageFeatures
                        .narrow(0, i, Math.Min(imageTile, n - i))
                        .matmul(classEmbeddings.t())
                        .to(float64)
                        .cpu()
                        .data<double>()
                        .ToArray();
            // Rank of the true class: how many classes score strictly higher, or equal with a lower index.
            int y = labels[i],
                rank = 0,
                best = 0;
            double truth = s[row * c + y];
            for (int k = 0; k < c; k++)
            {
                double v = s[row * c + k];
                if (v > truth || v == truth && k < y)
                    rank++;
                if (v > s[row * c + best])
                    best = k;
            }
            if (rank == 0)
                hits1++;
            if (rank < Math.Min(5, c))
                hits5++;
            confusion[y, best]++;
            perClassCount[y]++;
            if (best == y)
                perClassHits[y]++;
        }
        var perClass = Enumerable
            .Range(0, c)
            .Select(k => perClassCount[k] == 0 ? double.NaN : (double)perClassHits[k] / perClassCount[k])
            .ToArray();
        return new ClassificationMetrics((double)hits1 / n, (double)hits5 / n, perClass, confusion, classNames);
    }
}
