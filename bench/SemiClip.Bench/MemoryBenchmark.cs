using System.Diagnostics;
using System.Globalization;
using SemiClip.Data;
using SemiClip.Model;
using SemiClip.Synthetic;
using SemiClip.Tokenization;
using static TorchSharp.torch;

namespace SemiClip.Bench;

/// <summary><c>bench memory</c>: the decoded-image cache stays within <c>cache_images_mb</c>. Streams every image
/// of a 20,000-image, 256 px dataset through the training loader at 224 px (two passes, as two epochs would) with a
/// tiny-vit model resident, and reports peak resident memory against budget + model + the process before loading.
/// (Training steps themselves are measured flat by the trainer's memory test; at 224 px a full training epoch
/// would take over half an hour on 2 cores, so the data path is what this measures.)</summary>
static class MemoryBenchmark
{
    public static int Run(string[] args)
    {
        int images = int.Parse(BenchReport.Option(args, "--images", "20000"), CultureInfo.InvariantCulture);
        int budgetMb = int.Parse(BenchReport.Option(args, "--cache-mb", "256"), CultureInfo.InvariantCulture);
        var outDir = BenchReport.ResultsDir(args);
        var dir = Path.Combine(Path.GetTempPath(), "semiclip-bench", $"memory-{images}");
        if (!File.Exists(Path.Combine(dir, "train.jsonl")))
        {
            Console.WriteLine($"generating {images:N0} images at 256 px in {dir}");
            SyntheticDataset.Generate(
                dir,
                new SyntheticDataset.Options
                {
                    TrainPerClass = images / 10,
                    TestPerClass = 0,
                    ImageSize = 256,
                    Seed = 21,
                    CaptionsPerImage = 1,
                }
            );
        }
        var samples = CaptionDatasetReader.Read(
            Path.Combine(dir, "train.jsonl"),
            new CaptionDatasetOptions(),
            new BadInputReport(BadInputPolicy.FailFast)
        );
        manual_seed(0);
        using var model = new ClipModel(
            ClipConfig.Load("tiny-vit") with
            {
                Vision = ClipConfig.Load("tiny-vit").Vision with { ImageSize = 224 },
            }
        );
        long modelBytes = model.parameters().Sum(p => p.numel() * p.element_size());
        GC.Collect();
        var process = Process.GetCurrentProcess();
        process.Refresh();
        long before = process.WorkingSet64;
        long budget = (long)budgetMb << 20;
        using var loader = new TrainingDataLoader(
            samples,
            Array.Empty<string>(),
            ClipTokenizer.OpenAi(),
            32,
            224,
            null,
            new LoaderOptions
            {
                BatchSize = 64,
                Workers = 2,
                CacheImages = true,
                CacheBudgetBytes = budget,
            },
            new BadInputReport(BadInputPolicy.FailFast)
        );
        var clock = Stopwatch.StartNew();
        long peak = before;
        int steps = 2 * loader.BatchesPerEpoch;
        for (int s = 0; s < steps; s++)
        {
            var host = loader.BuildHost(s);
            TrainBatch.ImageBuffers.Return(host.Images);
            if (s % 20 == 0)
            {
                process.Refresh();
                peak = Math.Max(peak, process.WorkingSet64);
            }
        }
        process.Refresh();
        peak = Math.Max(Math.Max(peak, process.WorkingSet64), before);
        double seconds = clock.Elapsed.TotalSeconds;
        long growth = peak - before;
        const long margin = 512L << 20;
        bool within = growth <= budget + margin;
        var md =
            $"# Memory: decoded-image cache budget\n\n{samples.Count:N0} PNG images (256 px) streamed through the "
            + $"training loader at 224 px, "
            + $"two epochs ({steps} batches of 64, 2 workers, {seconds:F0} s), tiny-vit at 224 px resident "
            + $"({modelBytes >> 20} MiB of weights).\n\n"
            + $"| cache_images_mb | resident before loading | peak resident | growth | budget + 512 MiB margin | "
            + $"within |\n|---|---|---|---|---|---|\n"
            + $"| {budgetMb} | {before >> 20} MiB | {peak >> 20} MiB | {growth >> 20} MiB | "
            + $"{(budget + margin) >> 20} MiB | {(within ? "yes" : "NO")} |\n\n"
            + $"Without a budget the cache would hold every image: {samples.Count:N0} × 224 × 224 × 4 bytes ≈ "
            + $"{(long)samples.Count * 224 * 224 * 4 >> 20} MiB.\n";
        BenchReport.Write(
            outDir,
            "memory",
            new
            {
                images = samples.Count,
                cache_images_mb = budgetMb,
                resident_before_mib = before >> 20,
                peak_resident_mib = peak >> 20,
                growth_mib = growth >> 20,
                margin_mib = margin >> 20,
                within_budget = within,
                seconds,
                model_weights_mib = modelBytes >> 20,
            },
            md
        );
        Console.Write(md);
        return within ? 0 : 1;
    }
}
