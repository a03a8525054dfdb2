using SemiClip.Losses;
using static TorchSharp.torch;

namespace SemiClip.Tests.Losses;

public class LossTests
{
    static double[,] RandomUnitRows(int n, int d, int seed)
    {
        var rng = new Random(seed);
        var r = new double[n, d];
        for (int i = 0; i < n; i++)
        {
            double norm = 0;
            for (int j = 0; j < d; j++)
            {
                r[i, j] = rng.NextDouble() * 2 - 1;
                norm += r[i, j] * r[i, j];
            }
            for (int j = 0; j < d; j++)
                r[i, j] /= Math.Sqrt(norm);
        }
        return r;
    }

    static Tensor T(double[,] a) => tensor(a);

    static double V(Tensor t) => t.to(float64).item<double>();

    const double S = 14.285714285714286; // 1/0.07

    [Fact]
    public void ClipLossMatchesTheReference()
    {
        var img = RandomUnitRows(5, 4, 1);
        var txt = RandomUnitRows(5, 4, 2);
        var logits = Reference.MatMulT(img, txt, S);
        double expected =
            (Reference.CrossEntropyDiagonal(logits) + Reference.CrossEntropyDiagonal(Reference.Transpose(logits))) / 2;
        Assert.Equal(expected, V(ClipContrastiveLoss.Compute(T(img), T(txt), tensor(S))), 10);
    }

    [Fact]
    public void ClipLossWithUnpairedNegativesMatchesTheReference()
    {
        var img = RandomUnitRows(4, 3, 3);
        var txt = RandomUnitRows(4, 3, 4);
        var q = RandomUnitRows(6, 3, 5);
        var logitsPerImage = Reference.MatMulT(img, txt, S);
        var logitsPerText = Reference.Transpose(Reference.VStack(logitsPerImage, Reference.MatMulT(q, txt, S)));
        double expected =
            (Reference.CrossEntropyDiagonal(logitsPerImage) + Reference.CrossEntropyDiagonal(logitsPerText)) / 2;
        Assert.Equal(expected, V(ClipContrastiveLoss.Compute(T(img), T(txt), tensor(S), T(q))), 10);
    }

    [Fact]
    public void SinkhornHandComputedTwoByThree()
    {
        // C = [[0,1,2],[2,1,0]], ε = 1: by symmetry one iteration reaches the fixed point
        // u = (½, ½), v = ((2/3)/(1+e⁻²), e/3, (2/3)/(1+e⁻²)); plan row 0 = (1/(3(1+e⁻²)), 1/6, e⁻²/(3(1+e⁻²))).
        var plan = Sinkhorn.Plan(
            tensor(
                new double[,]
                {
                    { 0, 1, 2 },
                    { 2, 1, 0 },
                }
            ),
            1.0,
            10
        );
        double e2 = Math.Exp(-2),
            d = 3 * (1 + e2);
        var expected = new[,]
        {
            { 1 / d, 1.0 / 6, e2 / d },
            { e2 / d, 1.0 / 6, 1 / d },
        };
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                Assert.Equal(expected[i, j], plan[i, j].item<double>(), 12);
    }

    [Fact]
    public void SinkhornMatchesPlainDomainReferenceAndMarginals()
    {
        var rng = new Random(9);
        var cost = new double[4, 6];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 6; j++)
                cost[i, j] = rng.NextDouble() * 2;
        var expected = Reference.SinkhornPlan(cost, 0.3, 10);
        var plan = Sinkhorn.Plan(tensor(cost), 0.3, 10);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 6; j++)
                Assert.Equal(expected[i, j], plan[i, j].item<double>(), 12);
        // The last update is u's, so row sums are exact; columns converge with iterations.
        var converged = Sinkhorn.Plan(tensor(cost), 0.3, 500);
        for (int i = 0; i < 4; i++)
            Assert.Equal(0.25, converged[i].sum().item<double>(), 10);
        for (int j = 0; j < 6; j++)
            Assert.Equal(1.0 / 6, converged[.., j].sum().item<double>(), 8);
    }

    [Fact]
    public void SinkhornSurvivesTheSmallEpsilonOfATrainedTemperature()
    {
        var cost = 1 - tensor(RandomUnitRows(8, 4, 11)).matmul(tensor(RandomUnitRows(8, 4, 12)).t());
        var plan = Sinkhorn.RowNormalisedPlan(cost, 0.01, 10); // ε = 1/100: exp(−200) underflows float32
        Assert.False(plan.isnan().any().item<bool>());
        Assert.True((plan.sum(1) - 1).abs().max().item<double>() < 1e-9);
    }

    [Fact]
    public void CaptionLossMatchesTheReferenceWithTheOtPlan()
    {
        var img = RandomUnitRows(4, 5, 21);
        var txt = RandomUnitRows(4, 5, 22);
        var q = RandomUnitRows(3, 5, 23);
        var qi = Reference.MatMulT(q, img);
        var cost = new double[3, 4];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                cost[i, j] = 1 - qi[i, j];
        var plan = Reference.NormaliseRows(Reference.SinkhornPlan(cost, 1 / S, 10));
        double expected = Reference.SoftCrossEntropy(Reference.MatMulT(q, txt, S), plan) / 2;

        var planT = PseudoLabeler.Assign(T(q), T(img), tensor(S), PseudoLabelKind.OptimalTransport, 10);
        Assert.Equal(expected, V(CaptionPseudoLabelLoss.Compute(T(q), T(txt), tensor(S), planT)), 9);
    }

    [Fact]
    public void HardAndSoftPseudoLabelsFollowImageSimilarity()
    {
        var img = RandomUnitRows(4, 5, 31);
        var q = RandomUnitRows(3, 5, 32);
        var sim = Reference.MatMulT(q, img);
        var hard = PseudoLabeler.Assign(T(q), T(img), tensor(S), PseudoLabelKind.HardNearest, 10);
        var soft = PseudoLabeler.Assign(T(q), T(img), tensor(S), PseudoLabelKind.SoftNearest, 10);
        var expectedSoft = Reference.SoftmaxRows(sim, S);
        for (int i = 0; i < 3; i++)
        {
            int best = Enumerable.Range(0, 4).MaxBy(j => sim[i, j]);
            for (int j = 0; j < 4; j++)
            {
                Assert.Equal(j == best ? 1.0 : 0.0, hard[i, j].item<double>());
                Assert.Equal(expectedSoft[i, j], soft[i, j].item<double>(), 10);
            }
        }
    }

    [Fact]
    public void KeywordTargetsByHand()
    {
        // Three unpaired images; plan rows point at paired captions 1, 0 and 2.
        var plan = tensor(
            new double[,]
            {
                { 0.1, 0.8, 0.1 },
                { 0.6, 0.3, 0.1 },
                { 0.2, 0.2, 0.6 },
            }
        );
        // Caption 0 has keywords {0, 2}; caption 1 has {1}; caption 2 has none.
        var labels = tensor(
            new double[,]
            {
                { 1, 0, 1 },
                { 0, 1, 0 },
                { 0, 0, 0 },
            }
        );
        // Keyword features chosen so s·q·k is easy: unit vectors along axes.
        var keywords = tensor(
            new double[,]
            {
                { 1, 0 },
                { 0, 1 },
                { 0.6, 0.8 },
            }
        );
        var q = tensor(
            new double[,]
            {
                { 0.6, 0.8 },
                { 0.8, 0.6 },
                { 1, 0 },
            }
        );
        var targets = KeywordPartialLabelLoss.Targets(q, keywords, tensor(2.0), plan, labels);
        // Row 0 → caption 1 → single candidate 1: one-hot.
        // Row 1 → caption 0 → candidates 0 and 2: sims 2·0.8 = 1.6 and 2·(0.48+0.48) = 1.92 → 1.6/3.52, 1.92/3.52.
        // Row 2 → caption 2 → no candidates: zeros.
        var expected = new[,]
        {
            { 0, 1, 0 },
            { 1.6 / 3.52, 0, 1.92 / 3.52 },
            { 0, 0, 0 },
        };
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                Assert.Equal(expected[i, j], targets[i, j].item<double>(), 12);

        var loss = KeywordPartialLabelLoss.Compute(q, keywords, tensor(2.0), targets);
        var logits = Reference.MatMulT(
            new[,]
            {
                { 0.6, 0.8 },
                { 0.8, 0.6 },
                { 1.0, 0 },
            },
            new[,]
            {
                { 1.0, 0 },
                { 0, 1.0 },
                { 0.6, 0.8 },
            },
            2.0
        );
        Assert.Equal(Reference.SoftCrossEntropy(logits, expected) / 2, V(loss), 12);
    }

    [Fact]
    public void SoftClipMatchesTheReference()
    {
        var img = RandomUnitRows(5, 4, 41);
        var txt = RandomUnitRows(5, 4, 42);
        double alpha = 0.3,
            tau = 0.2;
        var imgIntra = Reference.MatMulT(img, img);
        var txtIntra = Reference.MatMulT(txt, txt);
        double[,] Targets(double[,] intra)
        {
            var sm = Reference.SoftmaxRows(intra, 1 / tau);
            var y = new double[5, 5];
            for (int i = 0; i < 5; i++)
                for (int j = 0; j < 5; j++)
                    y[i, j] = (i == j ? 1 - alpha : 0) + alpha * sm[i, j];
            return y;
        }
        var lpi = Reference.MatMulT(img, txt, S);
        var lpt = Reference.Transpose(lpi);
        double soft =
            (Reference.SoftCrossEntropy(lpi, Targets(imgIntra)) + Reference.SoftCrossEntropy(lpt, Targets(txtIntra)))
            / 2;
        double neg =
            (Reference.NegativesKl(lpi, Targets(imgIntra)) + Reference.NegativesKl(lpt, Targets(txtIntra))) / 2;

        var (softT, negT) = SoftClipLoss.Compute(T(img), T(txt), tensor(S), T(imgIntra), T(txtIntra), alpha, tau);
        Assert.Equal(soft, V(softT), 10);
        Assert.Equal(neg, V(negT), 10);
    }

    [Fact]
    public void SoftClipWithoutSofteningIsClip()
    {
        var img = tensor(RandomUnitRows(6, 4, 51));
        var txt = tensor(RandomUnitRows(6, 4, 52));
        var (soft, _) = SoftClipLoss.Compute(
            img,
            txt,
            tensor(S),
            IntraModalSimilarity.Pooled(img),
            IntraModalSimilarity.Pooled(txt),
            0,
            0.1
        );
        Assert.Equal(V(ClipContrastiveLoss.Compute(img, txt, tensor(S))), V(soft), 10);
    }

    [Fact]
    public void AttentionPooledTokenSimilarityByHand()
    {
        // Sample 0: tokens e1, e2. Sample 1: tokens e1, (masked) e2. With a tiny temperature the attention is
        // a hard max: S01 from 0's side = mean(cos(e1,e1)=1, cos(e2,e1)=0) = 0.5; from 1's side = 1 (only e1 counts).
        var tokens = tensor(
            new double[,,]
            {
                {
                    { 1, 0 },
                    { 0, 1 },
                },
                {
                    { 1, 0 },
                    { 0, 1 },
                },
            }
        );
        var mask = tensor(
            new[,]
            {
                { true, true },
                { true, false },
            }
        );
        var s = IntraModalSimilarity.AttentionPooledTokens(tokens, mask, 1e-4);
        Assert.Equal(0.75, s[0, 1].item<double>(), 6);
        Assert.Equal(1.0, s[1, 1].item<double>(), 6);
        Assert.Equal(1.0, s[0, 0].item<double>(), 6);
    }

    [Fact]
    public void PermutingTheBatchPermutesTargetsAndKeepsLosses()
    {
        var img = tensor(RandomUnitRows(6, 4, 61));
        var txt = tensor(RandomUnitRows(6, 4, 62));
        var q = tensor(RandomUnitRows(5, 4, 63));
        var perm = tensor(new long[] { 3, 0, 5, 1, 4, 2 });
        var qPerm = tensor(new long[] { 4, 2, 0, 1, 3 });
        var (pImg, pTxt, pQ) = (img.index_select(0, perm), txt.index_select(0, perm), q.index_select(0, qPerm));

        Assert.Equal(
            V(ClipContrastiveLoss.Compute(img, txt, tensor(S), q)),
            V(ClipContrastiveLoss.Compute(pImg, pTxt, tensor(S), pQ)),
            10
        );

        var plan = PseudoLabeler.Assign(q, img, tensor(S), PseudoLabelKind.OptimalTransport, 10);
        var planP = PseudoLabeler.Assign(pQ, pImg, tensor(S), PseudoLabelKind.OptimalTransport, 10);
        Assert.True(plan.index_select(0, qPerm).index_select(1, perm).allclose(planP, 1e-9, 1e-12));

        var y = SoftClipLoss.SoftTargets(IntraModalSimilarity.Pooled(img), 0.2, 0.1);
        var yP = SoftClipLoss.SoftTargets(IntraModalSimilarity.Pooled(pImg), 0.2, 0.1);
        Assert.True(y.index_select(0, perm).index_select(1, perm).allclose(yP, 1e-9, 1e-12));
        var a = SoftClipLoss.Compute(
            img,
            txt,
            tensor(S),
            IntraModalSimilarity.Pooled(img),
            IntraModalSimilarity.Pooled(txt),
            0.2,
            0.1
        );
        var b = SoftClipLoss.Compute(
            pImg,
            pTxt,
            tensor(S),
            IntraModalSimilarity.Pooled(pImg),
            IntraModalSimilarity.Pooled(pTxt),
            0.2,
            0.1
        );
        Assert.Equal(V(a.Soft), V(b.Soft), 10);
        Assert.Equal(V(a.Negatives), V(b.Negatives), 10);
    }

    /// <summary>Autograd against central differences, targets held fixed (they carry no gradient by design).</summary>
    static void CheckGradient(Tensor x, Func<Tensor, Tensor> f)
    {
        var leaf = x.clone().requires_grad_(true);
        f(leaf).backward();
        var grad = leaf.grad!.clone();
        const double h = 1e-6;
        var flat = x.clone().view(-1);
        for (int i = 0; i < flat.shape[0]; i++)
        {
            double orig = flat[i].item<double>();
            flat[i] = orig + h;
            double up = V(f(flat.view(x.shape)));
            flat[i] = orig - h;
            double down = V(f(flat.view(x.shape)));
            flat[i] = orig;
            Assert.Equal((up - down) / (2 * h), grad.view(-1)[i].item<double>(), 6);
        }
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var img = tensor(RandomUnitRows(3, 4, 71));
        var txt = tensor(RandomUnitRows(3, 4, 72));
        var q = tensor(RandomUnitRows(2, 4, 73));
        var kw = tensor(RandomUnitRows(3, 4, 74));
        var scale = tensor(3.0);
        CheckGradient(img, x => ClipContrastiveLoss.Compute(x, txt, scale, q));
        CheckGradient(q, x => ClipContrastiveLoss.Compute(img, txt, scale, x));
        var imgIntra = IntraModalSimilarity.Pooled(img);
        var txtIntra = IntraModalSimilarity.Pooled(txt);
        CheckGradient(txt, x =>
        {
            var (s, n) = SoftClipLoss.Compute(img, x, scale, imgIntra, txtIntra, 0.3, 0.2, q);
            return s + n;
        });
        var plan = PseudoLabeler.Assign(q, img, scale, PseudoLabelKind.OptimalTransport, 10);
        CheckGradient(q, x => CaptionPseudoLabelLoss.Compute(x, txt, scale, plan));
        // The reference's default: the plan keeps its gradient through the Sinkhorn iterations, to the unpaired and
        // the paired image features both.
        Tensor Planned(Tensor unpaired, Tensor paired, bool detach = false) =>
            CaptionPseudoLabelLoss.Compute(
                unpaired,
                txt,
                scale,
                PseudoLabeler.Assign(unpaired, paired, scale, PseudoLabelKind.OptimalTransport, 10, detach)
            );
        CheckGradient(q, x => Planned(x, img));
        CheckGradient(img, x => Planned(q, x));
        // …and the check sees the difference: holding the plan fixed gives another gradient.
        using (var free = q.clone().requires_grad_(true))
        using (var held = q.clone().requires_grad_(true))
        {
            Planned(free, img).backward();
            Planned(held, img, detach: true).backward();
            Assert.False(free.grad!.allclose(held.grad!, 1e-4, 1e-6));
        }
        var targets = KeywordPartialLabelLoss.Targets(
            q,
            kw,
            scale,
            plan,
            tensor(
                new double[,]
                {
                    { 1, 1, 0 },
                    { 0, 1, 1 },
                    { 1, 0, 0 },
                }
            )
        );
        CheckGradient(kw, x => KeywordPartialLabelLoss.Compute(q, x, scale, targets));
        CheckGradient(scale, s => ClipContrastiveLoss.Compute(img, txt, s, q));
    }

    [Fact]
    public void ObjectiveNamesItsPartsPerMethod()
    {
        var img = tensor(RandomUnitRows(4, 4, 81));
        var txt = tensor(RandomUnitRows(4, 4, 82));
        var q = tensor(RandomUnitRows(4, 4, 83));
        var inputs = new LossInputs(img, txt, tensor(S))
        {
            UnpairedFeatures = q,
            KeywordFeatures = tensor(RandomUnitRows(3, 4, 84)),
            KeywordLabels = tensor(
                new double[,]
                {
                    { 1, 0, 0 },
                    { 0, 1, 0 },
                    { 0, 0, 1 },
                    { 1, 1, 0 },
                }
            ),
        };
        string[] Names(TrainingMethod m) =>
            new TrainingObjective(new LossConfig { Method = m }).Compute(inputs).Parts.Select(p => p.Name).ToArray();
        Assert.Equal(new[] { "contrastive" }, Names(TrainingMethod.Clip));
        Assert.Equal(new[] { "contrastive", "caption", "keyword" }, Names(TrainingMethod.SClip));
        Assert.Equal(new[] { "soft", "negatives" }, Names(TrainingMethod.SoftClip));
        Assert.Equal(new[] { "soft", "negatives", "caption", "keyword" }, Names(TrainingMethod.SClipSoftClip));

        var weighted = new TrainingObjective(
            new LossConfig
            {
                Method = TrainingMethod.SClip,
                CaptionWeight = 0.5,
                KeywordWeight = 0,
            }
        ).Compute(inputs);
        var unit = new TrainingObjective(new LossConfig { Method = TrainingMethod.SClip, KeywordWeight = 0 }).Compute(
            inputs
        );
        Assert.Equal(0.5 * unit.ToDoubles()["caption"], weighted.ToDoubles()["caption"], 10);
        Assert.Equal(unit.ToDoubles().Values.Sum(), V(unit.Total()), 10);
    }
}

public class KeywordTargetEdgeTests
{
    [Fact]
    public void NegativeSimilaritiesNeverGiveNegativeTargets()
    {
        var plan = tensor(
            new double[,]
            {
                { 1.0 },
            }
        );
        var labels = tensor(
            new double[,]
            {
                { 1, 1 },
            }
        );
        var keywords = tensor(
            new double[,]
            {
                { 1, 0 },
                { -1, 0 },
            }
        );
        var q = tensor(
            new double[,]
            {
                { 1, 0 },
            }
        );
        var t = KeywordPartialLabelLoss.Targets(q, keywords, tensor(1.0), plan, labels);
        Assert.Equal(1.0, t[0, 0].item<double>(), 12);
        Assert.Equal(0.0, t[0, 1].item<double>(), 12);
        var orthogonal = KeywordPartialLabelLoss.Targets(
            tensor(
                new double[,]
                {
                    { 0, 1 },
                }
            ),
            keywords,
            tensor(1.0),
            plan,
            labels
        );
        Assert.Equal(0.5, orthogonal[0, 0].item<double>(), 12); // all clamped to 0: candidates share equally
        Assert.Equal(0.5, orthogonal[0, 1].item<double>(), 12);
    }
}
