using SemiClip.Losses;
using static TorchSharp.torch;

namespace SemiClip.Tests.Losses;

public class ConfidentPseudoLabelsTests
{
    [Fact]
    public void KeepsTheRowsWithTheLowestEntropyInTheirOrder()
    {
        // Entropies by hand: row 0 uniform (ln 3 ≈ 1.10), row 1 one-hot (0), row 2 (0.5, 0.5, 0) → ln 2 ≈ 0.69,
        // row 3 (0.9, 0.05, 0.05) ≈ 0.39.
        var plan = tensor(
            new float[,]
            {
                { 1 / 3f, 1 / 3f, 1 / 3f },
                { 0, 1, 0 },
                { 0.5f, 0.5f, 0 },
                { 0.9f, 0.05f, 0.05f },
            }
        );
        Assert.Equal(new long[] { 1, 3 }, ConfidentPseudoLabels.Rows(plan, 0.5).data<long>().ToArray());
        Assert.Equal(new long[] { 1, 2, 3 }, ConfidentPseudoLabels.Rows(plan, 0.75).data<long>().ToArray());
        Assert.Equal(new long[] { 1 }, ConfidentPseudoLabels.Rows(plan, 0.01).data<long>().ToArray());
        Assert.Equal(new long[] { 0, 1, 2, 3 }, ConfidentPseudoLabels.Rows(plan, 1).data<long>().ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => ConfidentPseudoLabels.Rows(plan, 0));
    }

    [Fact]
    public void OnlyTheKeptRowsTrainTheCaptionTerm()
    {
        using var seeded = new Generator(3);
        Tensor Unit(long n) => nn.functional.normalize(randn(n, 8, generator: seeded), dim: -1);
        var (images, texts, unpaired, scale) = (Unit(4), Unit(4), Unit(6), tensor(10f));
        var config = new LossConfig
        {
            Method = TrainingMethod.SClip,
            KeywordWeight = 0,
            DetachPlan = true,
        };
        var filtered = new TrainingObjective(config with { PseudoLabelKeep = 0.5 })
            .Compute(new LossInputs(images, texts, scale) { UnpairedFeatures = unpaired })
            .ToDoubles();

        // Independently: the full plan, its three most peaked rows, the caption loss on those rows alone.
        var plan = PseudoLabeler.Assign(unpaired, images, scale, PseudoLabelKind.OptimalTransport, 10, detach: true);
        var p = plan.to(float64);
        var entropy = (-(p * p.clamp_min(1e-300).log()).sum(1)).data<double>().ToArray();
        var kept = Enumerable.Range(0, 6).OrderBy(i => entropy[i]).Take(3).Order().Select(i => (long)i).ToArray();
        var rows = tensor(kept);
        var expected = CaptionPseudoLabelLoss
            .Compute(unpaired.index_select(0, rows), texts, scale, plan.index_select(0, rows))
            .item<float>();
        Assert.Equal(expected, filtered["caption"], 5);
        // The contrastive term still sees every unpaired image as a negative.
        var all = new TrainingObjective(config)
            .Compute(new LossInputs(images, texts, scale) { UnpairedFeatures = unpaired })
            .ToDoubles();
        Assert.Equal(all["contrastive"], filtered["contrastive"], 6);
        Assert.NotEqual(all["caption"], filtered["caption"]);
    }

    [Fact]
    public void AFixedEpsilonReplacesTheTemperature()
    {
        using var seeded = new Generator(4);
        Tensor Unit(long n) => nn.functional.normalize(randn(n, 8, generator: seeded), dim: -1);
        var (unpaired, paired) = (Unit(5), Unit(4));
        var fixedEps = PseudoLabeler.Assign(
            unpaired,
            paired,
            tensor(10f),
            PseudoLabelKind.OptimalTransport,
            10,
            detach: true,
            epsilon: 0.02
        );
        var byScale = PseudoLabeler.Assign(
            unpaired,
            paired,
            tensor(50f),
            PseudoLabelKind.OptimalTransport,
            10,
            detach: true
        );
        Assert.True(fixedEps.allclose(byScale, rtol: 1e-5, atol: 1e-6)); // ε 0.02 = 1/50
        var reference = PseudoLabeler.Assign(
            unpaired,
            paired,
            tensor(10f),
            PseudoLabelKind.OptimalTransport,
            10,
            detach: true
        );
        Assert.False(fixedEps.allclose(reference, rtol: 1e-3, atol: 1e-4));
    }
}
