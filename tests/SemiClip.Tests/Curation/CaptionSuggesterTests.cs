using SemiClip.Curation;
using static TorchSharp.torch;

namespace SemiClip.Tests.Curation;

public class CaptionSuggesterTests
{
    static float[] Unit(params float[] v)
    {
        var norm = MathF.Sqrt(v.Sum(x => x * x));
        return v.Select(x => x / norm).ToArray();
    }

    static Tensor Rows(params float[][] rows) =>
        tensor(rows.SelectMany(r => r).ToArray(), new long[] { rows.Length, rows[0].Length });

    // Captioned images sit around directions 0 and 1. Candidates: two near direction 0 (already covered), two in an
    // uncovered cluster A (direction 2), two in cluster B (direction 3, leaning a little towards the captioned ones).
    static readonly Tensor Paired = Rows(
        Unit(1, 0.1f, 0, 0),
        Unit(1, -0.1f, 0, 0),
        Unit(0.1f, 1, 0, 0),
        Unit(-0.1f, 1, 0, 0)
    );
    static readonly Tensor Candidates = Rows(
        Unit(1, 0.05f, 0, 0),
        Unit(1, 0, 0.05f, 0), // 0, 1: covered
        Unit(0, 0, 1, 0.02f),
        Unit(0, 0, 1, -0.02f), // 2, 3: cluster A, orthogonal to every captioned image
        Unit(0.3f, 0, 0, 1),
        Unit(0.3f, 0, 0.02f, 1)
    ); // 4, 5: cluster B

    // logitScale 1 (ε = 1): every plan row is nearly flat, so novelty decides the order.
    [Fact]
    public void UncoveredImagesComeFirst()
    {
        var ranked = CaptionSuggester.Rank(Paired, Candidates, logitScale: 1, top: 6, diversity: 0);
        Assert.Equal([2, 3], ranked.Take(2).Select(s => s.Index).Order());
        Assert.Equal([4, 5], ranked.Skip(2).Take(2).Select(s => s.Index).Order());
        Assert.Equal([0, 1], ranked.Skip(4).Select(s => s.Index).Order());
        // Cluster A is orthogonal to every captioned image: novelty (1 − 0) / 2.
        Assert.Equal(0.5, ranked[0].Novelty, 3);
        Assert.All(ranked, r => Assert.Equal((r.Novelty + r.Uncertainty) / 2, r.Score, 9));
        Assert.Contains(ranked.Single(s => s.Index == 0).NearestPaired, new[] { 0, 1 });
        Assert.True(ranked.Single(s => s.Index == 0).Novelty < 0.01);
    }

    /// <summary>Uncertainty against a plain (not log-domain) Sinkhorn written here: K = exp(−(1 − cos)/ε),
    /// alternate v = b / Kᵀu, u = a / K v for 10 rounds, rows normalised; entropy / log P.</summary>
    [Fact]
    public void UncertaintyIsTheNormalisedEntropyOfTheTransportRow()
    {
        const double scale = 20;
        var ranked = CaptionSuggester.Rank(Paired, Candidates, scale, top: 6, diversity: 0).ToDictionary(s => s.Index);
        var p = Paired.to(float64).data<double>().ToArray();
        var c = Candidates.to(float64).data<double>().ToArray();
        int n = 6,
            m = 4,
            d = 4;
        var k = new double[n, m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
            {
                double cos = 0;
                for (int t = 0; t < d; t++)
                    cos += c[i * d + t] * p[j * d + t];
                k[i, j] = Math.Exp(-(1 - cos) * scale);
            }
        var u = Enumerable.Repeat(1.0 / n, n).ToArray();
        var v = Enumerable.Repeat(1.0 / m, m).ToArray();
        for (int round = 0; round < 10; round++)
        {
            for (int j = 0; j < m; j++)
            {
                double sum = 0;
                for (int i = 0; i < n; i++)
                    sum += k[i, j] * u[i];
                v[j] = (1.0 / m) / sum;
            }
            for (int i = 0; i < n; i++)
            {
                double sum = 0;
                for (int j = 0; j < m; j++)
                    sum += k[i, j] * v[j];
                u[i] = (1.0 / n) / sum;
            }
        }
        for (int i = 0; i < n; i++)
        {
            var row = Enumerable.Range(0, m).Select(j => u[i] * k[i, j] * v[j]).ToArray();
            double total = row.Sum(),
                entropy = 0;
            foreach (var x in row)
            {
                double q = x / total;
                if (q > 0)
                    entropy -= q * Math.Log(q);
            }
            Assert.Equal(entropy / Math.Log(m), ranked[i].Uncertainty, 6);
        }
    }

    [Fact]
    public void DiversitySpreadsThePicksOverClusters()
    {
        var greedy = CaptionSuggester.Rank(Paired, Candidates, logitScale: 1, top: 2, diversity: 0);
        var spread = CaptionSuggester.Rank(Paired, Candidates, logitScale: 1, top: 2, diversity: 0.5);
        Assert.Equal([2, 3], greedy.Select(s => s.Index).Order()); // both from cluster A
        Assert.Contains(spread[0].Index, new[] { 2, 3 });
        Assert.Contains(spread[1].Index, new[] { 4, 5 }); // the second pick leaves cluster A
    }

    [Fact]
    public void NeedsTwoCaptionedImages() =>
        Assert.Throws<ArgumentException>(() => CaptionSuggester.Rank(Rows(Unit(1, 0, 0, 0)), Candidates, 100, 2));
}
