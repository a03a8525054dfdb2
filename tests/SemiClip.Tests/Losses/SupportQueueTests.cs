using SemiClip.Losses;
using static TorchSharp.torch;

namespace SemiClip.Tests.Losses;

public class SupportQueueTests
{
    static Tensor Rows(params float[] firstColumn) => stack(firstColumn.Select(v => tensor(new[] { v, 0f })).ToArray());

    [Fact]
    public void KeepsTheNewestEntriesInARing()
    {
        using var queue = new SupportQueue(3);
        queue.Push(Rows(1, 2), Rows(10, 20), null, tensor(new long[] { 0, 1 }));
        Assert.Equal(2, queue.Count);
        queue.Push(Rows(3, 4), Rows(30, 40), null, tensor(new long[] { 2, 3 }));
        Assert.Equal(3, queue.Count);
        var (images, texts, keywords, classes) = queue.Entries;
        // Slots: [4, 2, 3] — entry 1 was overwritten by entry 4.
        Assert.Equal(new[] { 4f, 2f, 3f }, images.select(1, 0).data<float>().ToArray());
        Assert.Equal(new[] { 40f, 20f, 30f }, texts.select(1, 0).data<float>().ToArray());
        Assert.Equal(new long[] { 3, 1, 2 }, classes!.data<long>().ToArray());
        Assert.Null(keywords);
    }

    [Fact]
    public void TheTransportStepUsesBatchAndQueue()
    {
        using var seeded = new Generator(1);
        Tensor Unit(long n) => nn.functional.normalize(randn(n, 8, generator: seeded), dim: -1);
        using var queue = new SupportQueue(6);
        queue.Push(Unit(6), Unit(6), null, null);
        var objective = new TrainingObjective(new LossConfig { Method = TrainingMethod.SClip, KeywordWeight = 0 });
        var x = new LossInputs(Unit(4), Unit(4), tensor(10f)) { UnpairedFeatures = Unit(5), Support = queue };
        var output = objective.Compute(x);
        Assert.Equal(10, output.Diagnostics["support_size"]);
        // Without the queue the same inputs give a different caption loss (the plan spans 4 paired images, not 10).
        var alone = objective.Compute(x with { Support = null });
        Assert.False(alone.Diagnostics.ContainsKey("support_size"));
        Assert.NotEqual(output.ToDoubles()["caption"], alone.ToDoubles()["caption"]);
    }

    [Fact]
    public void PseudoLabelLossesRampInWhenAsked()
    {
        using var seeded = new Generator(2);
        Tensor Unit(long n) => nn.functional.normalize(randn(n, 8, generator: seeded), dim: -1);
        var inputs = new LossInputs(Unit(4), Unit(4), tensor(10f)) { UnpairedFeatures = Unit(4) };
        var full = new TrainingObjective(new LossConfig { Method = TrainingMethod.SClip, KeywordWeight = 0 })
            .Compute(inputs)
            .ToDoubles()["caption"];
        var ramped = new TrainingObjective(
            new LossConfig
            {
                Method = TrainingMethod.SClip,
                KeywordWeight = 0,
                PseudoLabelRampSteps = 10,
            }
        );
        Assert.Equal(full * 0.1, ramped.Compute(inputs with { Step = 0 }).ToDoubles()["caption"], 5);
        Assert.Equal(full * 0.5, ramped.Compute(inputs with { Step = 4 }).ToDoubles()["caption"], 5);
        Assert.Equal(full, ramped.Compute(inputs with { Step = 50 }).ToDoubles()["caption"], 5);
    }
}
