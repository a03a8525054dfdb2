using System.Runtime.InteropServices;
using SemiClip.Evaluation;
using SemiClip.IO;
using SemiClip.Model;
using SemiClip.Runs;
using SemiClip.Tests.Support;
using SemiClip.Tokenization;
using SemiClip.Training;
using static TorchSharp.torch;

namespace SemiClip.Tests.Training;

/// <summary>What happens when LibTorch fails anyway: training resumes once from its newest checkpoint and
/// ends where an uninterrupted run ends; evaluation encodes a failed batch once more.</summary>
public class NativeFailureRecoveryTests
{
    static TrainConfig Config(TempDir dir, string run, params string[] more) =>
        TrainConfig.Load(
            null,
            TinySetup
                .Write(dir)
                .Concat([
                    "method=\"sclip\"",
                    "label_ratio=0.5",
                    "steps=12",
                    "checkpoint_every=4",
                    $"run_name=\"{run}\"",
                    .. more,
                ])
        );

    static void Train(TrainConfig config, Action<long>? beforeStep = null)
    {
        using var session = new TrainingSession(config, resume: false);
        session.Trainer.BeforeStep = beforeStep;
        session.Train();
    }

    [Fact]
    public void AResumedRunWithASupportQueueEndsBitIdenticalToAnUninterruptedOne()
    {
        using var dir = new TempDir();
        TinySetup.Write(dir);
        var start = TinySetup.SavedStart(dir);
        string[] queue = ["loss.support_queue_size=12", start];
        Train(Config(dir, "straight", queue));
        var cut = Config(dir, "cut", queue);
        Train(cut);
        var checkpoints = dir.File("runs/cut/checkpoints");
        using (var saved = new SafeTensorsReader(TrainCheckpoint.PathFor(checkpoints, 8)))
            Assert.Contains("support.images", saved.Names);
        File.Delete(dir.File("runs/cut/model.safetensors"));
        File.Delete(TrainCheckpoint.PathFor(checkpoints, 12));
        using (var resumed = new TrainingSession(cut, resume: true))
        {
            Assert.Equal(8, resumed.StartStep);
            resumed.Train();
        }
        using var a = new SafeTensorsReader(dir.File("runs/straight/model.safetensors"));
        using var b = new SafeTensorsReader(dir.File("runs/cut/model.safetensors"));
        foreach (var name in a.Names)
        {
            using var ta = a.Read(name);
            using var tb = b.Read(name);
            Assert.True(ta.bytes.SequenceEqual(tb.bytes), $"{name} differs after resuming with a support queue");
        }
    }

    [Fact]
    public void ADivergedRunNamesTheLoopsLastCheckpoint()
    {
        using var dir = new TempDir();
        using var session = new TrainingSession(Config(dir, "diverging"), resume: false);
        session.Trainer.BeforeStep = step =>
        {
            if (step == 6)
                using (no_grad())
                    session.Model.LogitScaleParameter.fill_(float.NaN);
        };
        var e = Assert.Throws<TrainingDivergedException>(() => session.Train());
        Assert.Equal(6, e.Step);
        Assert.Equal(TrainCheckpoint.PathFor(session.Run.CheckpointDir, 4), e.LastCheckpoint);
        Assert.Contains("step-00000004.safetensors", e.Message);
    }

    [Fact]
    public void ATrainingRunThatFailsInNativeCodeResumesOnceAndEndsLikeAnUninterruptedRun()
    {
        using var dir = new TempDir();
        TinySetup.Write(dir);
        var start = TinySetup.SavedStart(dir); // both runs start alike (see SavedStart)
        Train(Config(dir, "straight", start));
        bool failed = false;
        Train(Config(dir, "failing", start), step =>
        {
            if (step == 9 && !failed)
            {
                failed = true;
                throw new ExternalException("injected: corrupt scalar");
            }
        });

        Assert.True(failed);
        var events = File.ReadAllLines(dir.File("runs/failing/metrics.jsonl"))
            .Where(l => l.Contains("\"native_failure\""))
            .ToList();
        Assert.Single(events);
        Assert.Contains("\"resumed_from_step\":8", events[0]);
        using var a = new SafeTensorsReader(dir.File("runs/straight/model.safetensors"));
        using var b = new SafeTensorsReader(dir.File("runs/failing/model.safetensors"));
        foreach (var name in a.Names)
        {
            // Bit-identity of resume is proven across processes in ResumeAfterKillTests; here a small tolerance.
            using var ta = a.Read(name);
            using var tb = b.Read(name);
            Assert.True(
                ta.allclose(tb, rtol: 1e-4, atol: 1e-6),
                $"{name} differs from the uninterrupted run by up to {(ta - tb).abs().max().item<float>():E2}"
            );
        }
    }

    [Fact]
    public void ASecondNativeFailureEndsTheRun()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ExternalException>(() => Train(Config(dir, "twice"), step =>
            {
                if (step == 9)
                    throw new ExternalException("injected");
            }));
        Assert.Contains("injected", e.Message);
        Assert.False(File.Exists(dir.File("runs/twice/model.safetensors")));
    }

    [Fact]
    public void ANativeFailureBeforeTheFirstCheckpointIsNotHidden()
    {
        using var dir = new TempDir();
        Assert.Throws<ExternalException>(() => Train(Config(dir, "early"), step =>
            {
                if (step == 2)
                    throw new ExternalException("injected");
            }));
    }

    [Fact]
    public void EvaluationEncodesAFailedBatchOnceMore()
    {
        var tokenizer = ClipTokenizer.FromMergesFile(SharedFiles.ClipVocab);
        using var model = new ClipModel(TinySetup.Model(tokenizer.VocabSize));
        var texts = Enumerable.Range(0, 10).Select(i => $"an aerial photograph of field {i}.").ToList();
        using var clean = new Embedder(model, tokenizer, CPU, batchSize: 4).EncodeTexts(texts);

        var warnings = new List<string>();
        bool thrown = false;
        var flaky = new Embedder(model, tokenizer, CPU, batchSize: 4)
        {
            Warn = warnings.Add,
            BeforeBatch = (_, batch) =>
            {
                if (batch == 1 && !thrown)
                {
                    thrown = true;
                    throw new ExternalException("injected");
                }
            },
        };
        using var recovered = flaky.EncodeTexts(texts);
        Assert.Equal(clean.data<float>().ToArray(), recovered.data<float>().ToArray());
        Assert.Single(warnings);
        Assert.Contains("text batch 1", warnings[0]);

        var broken = new Embedder(model, tokenizer, CPU, batchSize: 4)
        {
            Warn = _ => { },
            BeforeBatch = (_, batch) =>
            {
                if (batch == 1)
                    throw new ExternalException("injected");
            },
        };
        Assert.Throws<ExternalException>(() => broken.EncodeTexts(texts));
    }
}
