using System.Diagnostics;
using SemiClip.Data;
using SemiClip.Losses;
using SemiClip.Model;
using SemiClip.Tensors;
using SemiClip.Tests.Support;
using SemiClip.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SemiClip.Tests.Training;

public class TrainerTests
{
    internal static TrainBatch RandomBatch(int b, int u, int seed, int vocab = 100)
    {
        var g = new Generator((ulong)seed);
        var tokens = randint(1, vocab - 2, new long[] { b, 24 }, generator: g);
        tokens[.., 5] = vocab - 1; // end-of-text, highest id
        tokens[.., 6..] = 0;
        return new TrainBatch
        {
            Position = new LoaderPosition(0, 0),
            Next = new LoaderPosition(0, 1),
            Images = randn(new long[] { b, 3, 16, 16 }, generator: g),
            Tokens = tokens,
            Unpaired = u > 0 ? randn(new long[] { u, 3, 16, 16 }, generator: g) : null,
        };
    }

    static ClipModel NewModel(int seed)
    {
        using var seeded = new Generator((ulong)seed);
        return new ClipModel(TinySetup.Model(100), seeded);
    }

    static ValidatedTrainConfig Checked(TrainConfig config) => TrainConfigValidator.ValidateSettings(config);

    /// <summary>The settings the accumulation tests compare against: one micro-batch, a short warm-up, no
    /// clipping.</summary>
    static TrainConfig OneBigStep(SemiClip.Losses.TrainingMethod method) =>
        TrainConfig.Load(null) with
        {
            Method = method,
            AccumSteps = 1,
            WarmupSteps = 1,
            Lr = 1e-3,
            GradClipNorm = 0,
        };

    /// <summary>Two models with equal weights. Copying (rather than seeding twice) keeps them equal when another
    /// test running in parallel draws from the global generator between the two constructions.</summary>
    static (ClipModel, ClipModel) Twins(int seed)
    {
        var a = NewModel(seed);
        var b = new ClipModel(TinySetup.Model(100));
        b.load_state_dict(a.state_dict());
        return (a, b);
    }

    [Fact]
    public void AdamWMatchesTorchSharpsAdamW()
    {
        using var seeded = new Generator(1);
        var init = randn(4, 3, generator: seeded);
        var mine = new TorchSharp.Modules.Parameter(init.clone());
        var theirs = new TorchSharp.Modules.Parameter(init.clone());
        var ours = new AdamW(new[] { ("w", mine) })
        {
            Beta1 = 0.9,
            Beta2 = 0.98,
            Eps = 1e-6,
            WeightDecay = 0.2,
        };
        var reference = optim.AdamW(new[] { theirs }, lr: 0.01, beta1: 0.9, beta2: 0.98, eps: 1e-6, weight_decay: 0.2);
        for (int step = 0; step < 5; step++)
        {
            foreach (var p in new[] { mine, theirs })
            {
                p.grad?.zero_();
                (p * p * (step + 1)).sum().backward();
            }
            ours.Update(0.01);
            reference.step();
        }
        Assert.True(mine.allclose(theirs, 1e-6, 1e-7));
    }

    [Fact]
    public void WeightDecaySkipsVectorsAndLogitScaleButDecaysEmbeddings()
    {
        using var model = NewModel(2);
        using var opt = new AdamW(model.named_parameters().Select(p => (p.name, p.parameter)));
        var decayed = opt.DecayedNames.ToHashSet();
        Assert.Contains("token_embedding.weight", decayed);
        Assert.Contains("positional_embedding", decayed);
        Assert.Contains("visual.proj", decayed);
        Assert.Contains("transformer.resblocks.0.attn.in_proj_weight", decayed);
        Assert.DoesNotContain("logit_scale", decayed);
        Assert.DoesNotContain("visual.class_embedding", decayed);
        Assert.DoesNotContain("ln_final.weight", decayed);
        Assert.DoesNotContain("transformer.resblocks.0.mlp.c_fc.bias", decayed);
    }

    [Fact]
    public void ScheduleWarmsUpLinearlyThenFollowsACosine()
    {
        Assert.Equal(0.1, LearningRateSchedule.At(0, 1.0, 10, 110), 12);
        Assert.Equal(1.0, LearningRateSchedule.At(9, 1.0, 10, 110), 12);
        Assert.Equal(1.0, LearningRateSchedule.At(10, 1.0, 10, 110), 12);
        Assert.Equal(0.5, LearningRateSchedule.At(60, 1.0, 10, 110), 12);
        Assert.Equal(0.0, LearningRateSchedule.At(110, 1.0, 10, 110), 12);
    }

    static Dictionary<string, Tensor> Weights(ClipModel m) =>
        m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

    [Theory]
    [InlineData("clip")]
    [InlineData("sclip")]
    public void AccumulationKeepsNegativesAcrossMicroBatchesAndMatchesOneBigStep(string method)
    {
        var config = OneBigStep(SemiClip.Losses.LossConfig.ParseMethod(method));
        var loss = new TrainingObjective(config.Loss with { KeywordWeight = 0 });
        var (a, b) = Twins(3);
        using var _a = a;
        using var _b = b;
        using var ta = new Trainer(a, loss, Checked(config), CPU, 10);
        using var tb = new Trainer(b, loss, Checked(config with { AccumSteps = 2 }), CPU, 10);
        var pa = ta.ComputeGradients(RandomBatch(8, 8, 1), 0);
        var pb = tb.ComputeGradients(RandomBatch(8, 8, 1), 0);
        Assert.Equal(pa.Values.Sum(), pb.Values.Sum(), 5);
        var ga = a.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!);
        var gb = b.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!);
        foreach (var (k, g) in ga)
            Assert.True(g.allclose(gb[k], 1e-4, 1e-6), $"{k}: max diff {(g - gb[k]).abs().max().item<float>()}");
        Assert.True(ga["visual.proj"].abs().sum().item<float>() > 0);
    }

    /// <summary>S-CLIP with the keyword loss on and a support queue, accumulated over two micro-batches, against one
    /// big batch, over two steps: the keyword features take gradient from the first micro-batch only (so the sum is
    /// the full-batch gradient, not twice it), and the queue holds the same features after the step, so the second
    /// step, which reads it, agrees too.</summary>
    [Fact]
    public void AccumulationWithKeywordsAndASupportQueueMatchesOneBigStep()
    {
        var config = OneBigStep(SemiClip.Losses.TrainingMethod.SClip);
        var loss = new TrainingObjective(config.Loss with { KeywordWeight = 1, SupportQueueSize = 16 });
        Assert.True(loss.Needs.SupportQueueSize > 0 && loss.Needs.Has(ObjectiveInput.KeywordFeatures));
        var (a, b) = Twins(3);
        using var _a = a;
        using var _b = b;
        var g = new Generator(11);
        using var keywordTokens = randint(1, 97, [3, 24], generator: g);
        keywordTokens[.., 4] = 99;
        keywordTokens[.., 5..] = 0;
        TrainBatch Batch(int seed)
        {
            var batch = RandomBatch(8, 8, seed);
            var labels = rand([8, 3], generator: new Generator((ulong)seed + 100)).LessThan(0.5).to(float32);
            labels[.., 0] = 1; // every caption names a keyword
            return new TrainBatch
            {
                Position = batch.Position,
                Next = batch.Next,
                Images = batch.Images,
                Tokens = batch.Tokens,
                Unpaired = batch.Unpaired,
                KeywordLabels = labels,
            };
        }
        using var ta = new Trainer(a, loss, Checked(config), CPU, 10, keywordTokens);
        using var tb = new Trainer(b, loss, Checked(config with { AccumSteps = 2 }), CPU, 10, keywordTokens);
        var first = (ta.Step(Batch(1), 0), tb.Step(Batch(1), 0));
        Assert.True(first.Item1.Losses["keyword"] > 0);
        var queueA = ta.CrossStepState().ToDictionary(kv => kv.Key, kv => kv.Value);
        var queueB = tb.CrossStepState().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(queueA.Keys.Order(), queueB.Keys.Order());
        foreach (var (k, t) in queueA)
            Assert.True(t.to(float32).allclose(queueB[k].to(float32), 1e-4, 1e-6), $"support {k} differs");

        // The second step from equal weights (AdamW's first step turns rounding noise in near-zero gradients into
        // full-size moves, which would swamp what is compared), each trainer with its own queue.
        using (no_grad())
            b.load_state_dict(a.state_dict());
        var pa = ta.ComputeGradients(Batch(2), 1);
        var pb = tb.ComputeGradients(Batch(2), 1);
        foreach (var (part, value) in pa)
            Assert.Equal(value, pb[part], 4);
        var gb = b.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!);
        foreach (var (k, p) in a.named_parameters())
            Assert.True(
                p.grad!.allclose(gb[k], 1e-4, 1e-6),
                $"{k}: max diff {p.grad!.PlusScaled(gb[k], -1).abs().max().item<float>()}"
            );
        Assert.True(a.named_parameters().First(p => p.name == "token_embedding.weight").parameter.grad!
            .abs().sum().item<float>() > 0);
    }

    /// <summary>grad_clip_norm scales every gradient by max_norm / (total norm + 1e-6) when the total norm is larger,
    /// before AdamW; a bound above the norm leaves the step as it is, to the bit.</summary>
    [Fact]
    public void GradientClippingScalesTheWholeGradientToTheBound()
    {
        var config = TrainConfig.Load(null) with { AccumSteps = 1, WarmupSteps = 1, Lr = 1e-3, GradClipNorm = 0 };
        var loss = new TrainingObjective(config.Loss);
        var (a, b) = Twins(7);
        var (c, d) = Twins(7);
        using var _a = a;
        using var _b = b;
        using var _c = c;
        using var _d = d;
        using var plain = new Trainer(a, loss, Checked(config), CPU, 10);
        using var reference = new Trainer(b, loss, Checked(config), CPU, 10);
        using var clipped = new Trainer(c, loss, Checked(config with { GradClipNorm = 0.05 }), CPU, 10);
        using var loose = new Trainer(d, loss, Checked(config with { GradClipNorm = 1e6 }), CPU, 10);

        // The reference step, by hand: gradients, their total norm, scaled to 0.05, then the same AdamW update.
        reference.ComputeGradients(RandomBatch(8, 0, 5), 0);
        var grads = reference.Optimizer.Parameters.Select(p => p.grad).OfType<Tensor>().ToList();
        double norm = Math.Sqrt(grads.Sum(t => t.to(float64).square().sum().item<double>()));
        Assert.True(norm > 0.05, $"the gradient norm {norm} must exceed the bound for the test to mean anything");
        using (no_grad())
            foreach (var t in grads)
                t.Times_(0.05 / (norm + 1e-6));
        reference.Optimizer.Update(LearningRateSchedule.At(0, config.Lr, config.WarmupSteps, 10));

        plain.Step(RandomBatch(8, 0, 5), 0);
        clipped.Step(RandomBatch(8, 0, 5), 0);
        loose.Step(RandomBatch(8, 0, 5), 0);
        static Dictionary<string, Tensor> State(Trainer t, ClipModel m) =>
            t.Optimizer.StateTensors()
                .Concat(m.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)))
                .ToDictionary(kv => kv.Key, kv => kv.Value);
        var (sa, sb, sc, sd) = (State(plain, a), State(reference, b), State(clipped, c), State(loose, d));
        foreach (var (k, t) in sa)
        {
            Assert.True(t.equal(sd[k]).all().item<bool>(), $"{k}: a bound above the norm changed the step");
            Assert.True(sc[k].allclose(sb[k], 1e-5, 1e-9), $"{k}: the clipped step is not the scaled one");
        }
        // The moments saw the scaled gradient (AdamW's first update is nearly scale-free, its moments are not).
        var moment = sa.Keys.First(k => k.StartsWith("optim.exp_avg.visual.", StringComparison.Ordinal));
        Assert.True(sc[moment].allclose(sa[moment].Times(0.05 / (norm + 1e-6)), 1e-4, 1e-9));
        Assert.False(sc[moment].allclose(sa[moment], 1e-2, 1e-9));
    }

    [Fact]
    public void AccumulationWithAFrozenTeacherMatchesOneBigStep()
    {
        var config = OneBigStep(SemiClip.Losses.TrainingMethod.SoftClip);
        var loss = new TrainingObjective(config.Loss with { IntraSource = IntraModalSource.Teacher, SoftAlpha = 0.5 });
        var (a, b) = Twins(3);
        var (teacherA, teacherB) = Twins(5);
        using var _a = a;
        using var _b = b;
        using var ta = new Trainer(a, loss, Checked(config), CPU, 10, teacher: teacherA);
        using var tb = new Trainer(b, loss, Checked(config with { AccumSteps = 2 }), CPU, 10, teacher: teacherB);
        var pa = ta.ComputeGradients(RandomBatch(8, 8, 1), 0);
        var pb = tb.ComputeGradients(RandomBatch(8, 8, 1), 0);
        Assert.Equal(pa.Values.Sum(), pb.Values.Sum(), 5);
        var gb = b.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!);
        foreach (var (k, p) in a.named_parameters())
            Assert.True(p.grad!.allclose(gb[k], 1e-4, 1e-6), $"{k} differs");
    }

    [Fact]
    public void NonFiniteLossStopsWithStepAndParts()
    {
        var config = TrainConfig.Load(null) with { Method = SemiClip.Losses.TrainingMethod.Clip };
        using var model = NewModel(4);
        using var trainer = new Trainer(model, new TrainingObjective(config.Loss), Checked(config), CPU, 10);
        var batch = RandomBatch(4, 0, 2);
        batch.Images[0, 0, 0, 0] = float.NaN;
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Step(batch, 7));
        Assert.Contains("step 7", e.Message);
        Assert.Contains("contrastive=NaN", e.Message);
        Assert.Contains("no checkpoint", e.Message);
    }

    [Fact]
    public void Bf16TrainingKeepsFloat32MasterWeights()
    {
        var config = TrainConfig.Load(null) with
        {
            Method = SemiClip.Losses.TrainingMethod.SoftClip,
            Precision = Precision.Bf16,
            WarmupSteps = 1,
        };
        using var model = NewModel(5);
        using var trainer = new Trainer(model, new TrainingObjective(config.Loss), Checked(config), CPU, 10);
        var result = trainer.Step(RandomBatch(4, 0, 3), 0);
        Assert.True(result.Losses.Values.All(double.IsFinite));
        // The step says which learning rate it used and the temperature it left.
        Assert.Equal(LearningRateSchedule.At(0, config.Lr, config.WarmupSteps, 10), result.Lr);
        Assert.Equal(Math.Exp(model.LogitScaleParameter.to(ScalarType.Float32).item<float>()), result.LogitScale, 12);
        Assert.Equal(ScalarType.BFloat16, model.LogitScaleParameter.dtype);
        Assert.Contains(trainer.Optimizer.StateTensors(), kv =>
            kv.Key.StartsWith("optim.master.") && kv.Value.dtype == ScalarType.Float32
        );
    }
}

/// <summary>Runs alone: it reads the process's resident memory, which parallel tests would disturb.</summary>
[CollectionDefinition("memory", DisableParallelization = true)]
public sealed class MemoryCollection;

[Collection("memory")]
public class TrainerMemoryTests
{
    static ClipModel NewModel(int seed)
    {
        using var seeded = new Generator((ulong)seed);
        return new ClipModel(TinySetup.Model(100), seeded);
    }

    [Fact]
    public void NativeMemoryStaysFlatOverHundredsOfSteps()
    {
        var config = TrainConfig.Load(null) with
        {
            Method = SemiClip.Losses.TrainingMethod.SClip,
            WarmupSteps = 1,
            Lr = 1e-4,
        };
        using var model = NewModel(6);
        using var trainer = new Trainer(
            model,
            new TrainingObjective(config.Loss with { KeywordWeight = 0 }),
            TrainConfigValidator.ValidateSettings(config),
            CPU,
            2000
        );
        var batch = TrainerTests.RandomBatch(8, 8, 4);
        long Rss()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var p = Process.GetCurrentProcess();
            p.Refresh();
            return p.WorkingSet64;
        }
        long Live() => DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int s = 0; s < 100; s++)
            trainer.Step(batch, s);
        long before = Rss(),
            liveBefore = Live();
        for (int s = 100; s < 500; s++)
            trainer.Step(batch, s);
        long growth = Rss() - before;
        Assert.Equal(liveBefore, Live()); // every tensor a step creates is disposed by its scope
        // The live count catches a tensor left undisposed; resident memory what native code keeps beside them (80 KiB
        // a step at most).
        Assert.True(growth < 32L << 20, $"resident memory grew by {growth >> 20} MiB over 400 steps");
    }
}
