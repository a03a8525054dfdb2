using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using SemiClip.Data;
using SemiClip.Evaluation;
using SemiClip.Losses;
using SemiClip.Model;
using SemiClip.Tensors;
using SemiClip.Tokenization;
using SemiClip.Training;
using static TorchSharp.torch;

namespace SemiClip.Bench;

/// <summary>The temporary-Scalar crash under garbage-collection pressure: for the given minutes, a
/// background thread forces full collections and finaliser runs without pause while the main thread
/// alternates training steps (S-CLIP and SoftCLIP objectives on a small model) and evaluation batches.
/// Every native failure is counted instead of ending the run. <c>--control</c> first runs the same
/// pressure against TorchSharp's hazardous overloads used directly (<see cref="HazardControl"/>), which
/// shows that the harness catches the crash the project's code no longer has.</summary>
public static class StressBenchmark
{
    public static int Run(string[] args)
    {
        double minutes = double.Parse(BenchReport.Option(args, "--minutes", "10"), CultureInfo.InvariantCulture);
        double controlSeconds = double.Parse(
            BenchReport.Option(args, "--control-seconds", "60"),
            CultureInfo.InvariantCulture
        );
        bool control = args.Contains("--control");
        var outDir = BenchReport.ResultsDir(args);

        using var pressure = new GcPressure();
        HazardControl.Result? controlResult = control
            ? HazardControl.Run(TimeSpan.FromSeconds(controlSeconds), pressure)
            : null;
        if (controlResult != null)
            Console.WriteLine(
                $"control (TorchSharp's overloads used directly): {controlResult.Iterations} "
                    + $"iterations, {controlResult.Failures} native failures, first: {controlResult.FirstError}"
            );

        var tokenizer = ClipTokenizer.OpenAi();
        var config = ClipConfig.Load("tiny-vit");
        config = config with
        {
            Vision = config.Vision with { ImageSize = 32, PatchSize = 8, Layers = 2 },
            Text = config.Text with { Layers = 2 },
        };
        using var model = new ClipModel(config);
        long trainSteps = 0,
            evalBatches = 0,
            failures = 0;
        string? firstError = null;
        var clock = Stopwatch.StartNew();
        var collectionsBefore = GC.CollectionCount(2);
        var objectives = new[] { "sclip", "softclip", "sclip+softclip" };
        var embedder = new Embedder(model, tokenizer, CPU, batchSize: 32) { Warn = _ => { } };
        var texts = Enumerable
            .Range(0, 64)
            .Select(i => $"an aerial photograph of {i} buildings near a river.")
            .ToList();
        while (clock.Elapsed.TotalMinutes < minutes)
        {
            var method = objectives[trainSteps / 20 % objectives.Length];
            try
            {
                var train = TrainConfig.Load(null) with
                {
                    Method = Losses.LossConfig.ParseMethod(method),
                    WarmupSteps = 1,
                    Lr = 1e-4,
                };
                using var trainer = new Trainer(
                    model,
                    new TrainingObjective(train.Loss),
                    TrainConfigValidator.ValidateSettings(train),
                    CPU,
                    1000,
                    Keywords(config)
                );
                for (int s = 0; s < 20; s++, trainSteps++)
                {
                    using var batch = Batch(config, 16);
                    trainer.Step(batch, s);
                }
                for (int e = 0; e < 2; e++, evalBatches++)
                    using (embedder.EncodeTexts(texts)) { }
            }
            catch (Exception e) when (e is ExternalException)
            {
                failures++;
                firstError ??= e.Message.Split('\n')[0];
                Console.WriteLine($"native failure after {trainSteps} steps: {e.Message.Split('\n')[0]}");
            }
            if (trainSteps % 200 == 0)
                Console.WriteLine(
                    $"{clock.Elapsed.TotalMinutes:F1} min: {trainSteps} steps, "
                        + $"{evalBatches} evaluation passes, {failures} failures, {pressure.Collections} forced "
                        + $"collections"
                );
        }
        long collections = GC.CollectionCount(2) - collectionsBefore;
        var md = new StringBuilder("# Stress: temporary Scalars under forced garbage collection\n\n");
        md.Append(
            $"Command: `dotnet run --project bench/SemiClip.Bench -c Release -- stress --minutes "
                + $"{minutes}{(control ? " --control" : "")}`. "
        );
        md.Append("A background thread runs `GC.Collect(); GC.WaitForPendingFinalizers()` without pause.\n\n");
        md.Append("| arm | duration | iterations | native failures | first failure |\n|---|---|---|---|---|\n");
        if (controlResult != null)
            md.Append(
                $"| control: TorchSharp overloads used directly (`a + b`, `a * 2.0`, `clamp_min(0)`) | "
                    + $"{controlSeconds:F0} s | {controlResult.Iterations:N0} | {controlResult.Failures} | "
                    + $"{controlResult.FirstError ?? "–"} |\n"
            );
        md.Append(
            $"| SemiClip: training steps (S-CLIP, SoftCLIP, both) and evaluation passes | "
                + $"{clock.Elapsed.TotalMinutes:F1} min | {trainSteps:N0} steps + {evalBatches:N0} evaluation passes "
                + $"| {failures} | {firstError ?? "–"} |\n\n"
        );
        md.Append($"Full collections during the SemiClip arm: {collections:N0}.\n");
        BenchReport.Write(
            outDir,
            "stress",
            new
            {
                minutes = clock.Elapsed.TotalMinutes,
                train_steps = trainSteps,
                eval_passes = evalBatches,
                failures,
                first_error = firstError,
                full_collections = collections,
                control = controlResult,
            },
            md.ToString()
        );
        return failures == 0 ? 0 : 1;
    }

    static Tensor Keywords(ClipConfig config)
    {
        var tokens = randint(1, 1000, new long[] { 30, config.Text.ContextLength });
        tokens[.., 3] = 49407;
        tokens[.., 4..] = 0;
        return tokens;
    }

    static TrainBatch Batch(ClipConfig config, int b)
    {
        var tokens = randint(1, 1000, new long[] { b, config.Text.ContextLength });
        tokens[.., 10] = 49407;
        tokens[.., 11..] = 0;
        int size = config.Vision.ImageSize;
        return new TrainBatch
        {
            Position = new LoaderPosition(0, 0),
            Next = new LoaderPosition(0, 1),
            Images = randn(b, 3, size, size),
            Tokens = tokens,
            Unpaired = randn(b, 3, size, size),
            KeywordLabels = rand(b, 30).LessThan(0.2).to(float32),
        };
    }
}

/// <summary>Forces full garbage collections and finaliser runs on a background thread until disposed.</summary>
public sealed class GcPressure : IDisposable
{
    readonly Thread _thread;
    volatile bool _stop;
    long _collections;
    public long Collections => Interlocked.Read(ref _collections);

    public GcPressure()
    {
        _thread = new Thread(() =>
        {
            while (!_stop)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Interlocked.Increment(ref _collections);
            }
        })
        {
            IsBackground = true,
            Name = "gc-pressure",
        };
        _thread.Start();
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}
