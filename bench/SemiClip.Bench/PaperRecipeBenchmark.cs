using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SemiClip.Runs;
using SemiClip.Training;
using static TorchSharp.torch;

namespace SemiClip.Bench;

/// <summary><c>bench paper-recipe</c>: S-CLIP's reference recipe (<c>configs/sclip-paper-rs.yaml</c>: RN50 at 224 px,
/// 128 paired + 128 unpaired images per step, 25 epochs) on RSICD-10k at 10% pairs from random weights, run for a few
/// measured steps through the same session <c>semiclip train</c> uses, then extrapolated to the recipe's length.
/// </summary>
public static class PaperRecipeBenchmark
{
    public static int Run(string[] args)
    {
        var repo = BenchReport.RepoRoot();
        var data = BenchReport.Option(
            args,
            "--data",
            Path.GetFullPath(Path.Combine(repo, "..", "shared", "data", "rsicd10k"))
        );
        var work = BenchReport.Option(args, "--work-dir", Path.Combine(repo, "runs", "bench-paper"));
        int measured = int.Parse(BenchReport.Option(args, "--steps", "3"), CultureInfo.InvariantCulture);
        if (!File.Exists(Path.Combine(data, "dataset_rsicd10k.json")))
        {
            Console.Error.WriteLine($"{data}: dataset_rsicd10k.json not found (pass --data DIR).");
            return 2;
        }
        var real = RealData.Prepare(data, Path.Combine(work, "data"));
        var recipe = Path.Combine(repo, "configs", "sclip-paper-rs.yaml");
        var runs = Path.Combine(work, "runs");
        if (Directory.Exists(runs))
            Directory.Delete(runs, true);
        string Json(string s) => JsonSerializer.Serialize(s);
        var config = TrainConfig.Load(
            recipe,
            [
                $"train_data={Json(real.CaptionFile)}",
                $"image_root={Json(real.ImageRoot)}",
                $"keywords={Json(real.KeywordsPath)}",
                "pretrained=null",
                $"runs_dir={Json(runs)}",
                "device=\"cpu\"",
                "checkpoint_every=1000000",
                // What a user on a smaller machine adds (accum_steps=4: the reference's batch in four micro-batches,
                // the same loss); named in the report.
                .. BenchReport.Option(args, "--set", "").Split(';', StringSplitOptions.RemoveEmptyEntries),
            ]
        );
        var clock = Stopwatch.StartNew();
        using var session = new TrainingSession(config, resume: false);
        double setupSeconds = clock.Elapsed.TotalSeconds;
        var stepEnds = new List<double>();
        using var stop = new CancellationTokenSource();
        try
        {
            session.Train(
                onStep: report =>
                {
                    stepEnds.Add(clock.Elapsed.TotalSeconds);
                    Console.WriteLine($"step {report.Step}/{report.TotalSteps} at {clock.Elapsed.TotalSeconds:F0} s");
                    if (stepEnds.Count >= measured + 1)
                        stop.Cancel();
                },
                stop: stop.Token
            );
        }
        catch (TrainingInterruptedException) { }
        // The first step includes the loader's start and LibTorch's first-use costs; the rest are the steady rate.
        var steady = stepEnds.Zip(stepEnds.Skip(1), (a, b) => b - a).Order().ToList();
        double secondsPerStep = steady[steady.Count / 2];
        long total = session.TotalSteps;
        double hours = total * secondsPerStep / 3600;
        int threads = get_num_threads();
        var md =
            $"# The paper's recipe on this CPU\n\n`configs/sclip-paper-rs.yaml` ({config.Model}, "
            + $"{Model.ClipConfig.Load(config.Model).Vision.ImageSize} px, batch {config.BatchSize} = "
            + $"{config.BatchSize / 2} paired + "
            + $"{config.BatchSize / 2} unpaired, {config.Epochs} epochs, label ratio {config.LabelRatio}) on RSICD-10k "
            + $"from random weights, {threads} threads, fp32, {Environment.ProcessorCount} cores "
            + $"({NativeCpu()}), accum_steps {config.AccumSteps}, grad_checkpointing {config.GradCheckpointing}.\n\n"
            + "| measured steps | seconds / step (median) | first step s | steps for the recipe | extrapolated hours "
            + "|\n|---|---|---|---|---|\n"
            + string.Create(
                CultureInfo.InvariantCulture,
                $"| {steady.Count} | {secondsPerStep:F1} | {stepEnds[0] - setupSeconds:F1} | {total} | {hours:F1} |\n"
            )
            + $"\nSession set up (captions read and split, model built) in {setupSeconds:F1} s. Command: "
            + $"`{BenchReport.CommandLine()}`.\n";
        BenchReport.Write(
            BenchReport.ResultsDir(args),
            "paper-recipe-cpu",
            new
            {
                model = config.Model,
                batch = config.BatchSize,
                epochs = config.Epochs,
                label_ratio = config.LabelRatio,
                accum_steps = config.AccumSteps,
                grad_checkpointing = config.GradCheckpointing,
                threads,
                cores = Environment.ProcessorCount,
                setup_seconds = setupSeconds,
                step_seconds = steady,
                seconds_per_step = secondsPerStep,
                recipe_steps = total,
                extrapolated_hours = hours,
            },
            md
        );
        return 0;
    }

    static string NativeCpu() =>
        File.ReadLines("/proc/cpuinfo")
            .FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
            ?.Split(':', 2)[1]
            .Trim()
        ?? "unknown CPU";
}
