using System.Diagnostics;
using System.Globalization;
using SemiClip.Data.Shards;
using SemiClip.Runs;
using SemiClip.Training;
using SkiaSharp;

namespace SemiClip.Bench;

/// <summary><c>bench shards</c>: training streamed from webdataset shards keeps its memory whatever the dataset's
/// size. Writes 10,000 and 100,000 synthetic 32 px images (10 classes, captions naming the class) as shards, then
/// trains S-CLIP (label ratio 0.5, so both the paired and the unpaired stream run) for the same number of steps on
/// each in a fresh child process, and reports each child's peak resident memory (VmHWM) and its time.</summary>
static class ShardMemoryBenchmark
{
    static readonly string[] Classes =
    [
        "red",
        "green",
        "blue",
        "yellow",
        "purple",
        "orange",
        "white",
        "black",
        "pink",
        "brown",
    ];

    public static int Run(string[] args)
    {
        var sizes = BenchReport.Option(args, "--sizes", "10000,100000").Split(',').Select(int.Parse).ToArray();
        long steps = long.Parse(BenchReport.Option(args, "--steps", "150"), CultureInfo.InvariantCulture);
        var outDir = BenchReport.ResultsDir(args);
        var rows =
            new List<(
                int Images,
                int Shards,
                long Bytes,
                long PeakMib,
                double Seconds,
                double StartupSeconds,
                double LoaderRate
            )>();
        foreach (var size in sizes)
        {
            var dir = Path.Combine(Path.GetTempPath(), "semiclip-bench", $"shards-{size}");
            var pattern = Generate(dir, size);
            long bytes = ShardPattern.Expand(pattern).Sum(p => new FileInfo(p).Length);
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (
                var a in new[]
                {
                    typeof(ShardMemoryBenchmark).Assembly.Location,
                    "shards-train",
                    "--data",
                    pattern,
                    "--steps",
                    $"{steps}",
                }
            )
                psi.ArgumentList.Add(a);
            using var child = Process.Start(psi)!;
            var output = child.StandardOutput.ReadToEnd();
            child.WaitForExit();
            Console.Write(output);
            if (child.ExitCode != 0)
                return child.ExitCode;
            double Value(string key) =>
                double.Parse(
                    output.Split('\n').Single(l => l.StartsWith(key + " ", StringComparison.Ordinal))[
                        (key.Length + 1)..
                    ],
                    CultureInfo.InvariantCulture
                );
            rows.Add(
                (
                    size,
                    ShardPattern.Expand(pattern).Count,
                    bytes,
                    (long)Value("peak_mib"),
                    Value("seconds"),
                    Value("startup_seconds"),
                    Value("loader_images_per_s")
                )
            );
        }
        var md =
            "# Memory: training streamed from webdataset shards\n\n"
            + $"S-CLIP (label ratio 0.5), tiny-vit (64 px input, OpenAI vocabulary), "
            + "batch 64 (32 paired + 32 unpaired), {steps} steps, shuffle buffer 5,000, "
            + "each dataset in a fresh process; peak resident memory is the process's VmHWM.\n\n"
            + "| images | shards | shard bytes | peak resident | startup (header scan) | loader images/s (no "
            + "training) | run seconds |\n"
            + "|---|---|---|---|---|---|---|\n"
            + string.Concat(
                rows.Select(r =>
                    $"| {r.Images:N0} | {r.Shards} | {r.Bytes >> 20} MiB | {r.PeakMib} MiB | {r.StartupSeconds:F1} s | "
                    + $"{r.LoaderRate:F0} | {r.Seconds:F0} |\n"
                )
            );
        if (rows.Count >= 2)
            md +=
                $"\nPeak memory ratio, largest / smallest dataset: {(double)rows[^1].PeakMib / rows[0].PeakMib:F2} "
                + $"for {(double)rows[^1].Images / rows[0].Images:F0}× the images.\n";
        BenchReport.Write(
            outDir,
            "memory-shards",
            new
            {
                steps,
                rows = rows.Select(r => new
                {
                    images = r.Images,
                    shards = r.Shards,
                    shard_mib = r.Bytes >> 20,
                    peak_mib = r.PeakMib,
                    seconds = r.Seconds,
                    startup_seconds = r.StartupSeconds,
                }),
            },
            md
        );
        Console.Write(md);
        return 0;
    }

    static string Generate(string dir, int count)
    {
        var done = Path.Combine(dir, "pattern.txt");
        if (File.Exists(done))
            return File.ReadAllText(done).Trim();
        if (Directory.Exists(dir))
            Directory.Delete(dir, true);
        Console.WriteLine($"writing {count:N0} synthetic images as shards in {dir}");
        var rng = new Random(17);
        using var writer = new WebDatasetWriter(dir, "train-", 1000);
        using var bitmap = new SKBitmap(32, 32);
        using var canvas = new SKCanvas(bitmap);
        using var paint = new SKPaint();
        for (int i = 0; i < count; i++)
        {
            int c = rng.Next(Classes.Length);
            canvas.Clear(SKColor.Parse(Colour(c)));
            paint.Color = new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256));
            canvas.DrawRect(rng.Next(24), rng.Next(24), 4 + rng.Next(8), 4 + rng.Next(8), paint);
            using var image = SKImage.FromBitmap(bitmap);
            using var png = image.Encode(SKEncodedImageFormat.Png, 100);
            writer.Add(png.ToArray(), "png", [$"a {Classes[c]} picture with a small square, number {i}."], Classes[c]);
        }
        writer.Dispose();
        IO.AtomicFile.WriteAllText(done, writer.Pattern);
        return writer.Pattern;
    }

    static string Colour(int c) =>
        c switch
        {
            0 => "#d03030",
            1 => "#30a040",
            2 => "#3050d0",
            3 => "#e0d030",
            4 => "#8030a0",
            5 => "#f08020",
            6 => "#f0f0f0",
            7 => "#101010",
            8 => "#f0a0c0",
            _ => "#805030",
        };

    /// <summary>The child: trains from the shards and prints its peak resident memory.</summary>
    public static int Train(string[] args)
    {
        var pattern = BenchReport.Option(args, "--data", "");
        long steps = long.Parse(BenchReport.Option(args, "--steps", "150"), CultureInfo.InvariantCulture);
        var work = Path.Combine(Path.GetTempPath(), "semiclip-bench", "shards-runs");
        var keywords = Path.Combine(work, "keywords.txt");
        Directory.CreateDirectory(work);
        File.WriteAllLines(keywords, Classes);
        var config = TrainConfig.Load(null) with
        {
            RunsDir = work,
            RunName = $"run-{Environment.ProcessId}",
            Model = "tiny-vit",
            TrainData = pattern,
            Method = Losses.TrainingMethod.SClip,
            LabelRatio = 0.5,
            Keywords = keywords,
            BatchSize = 64,
            Steps = steps,
            Workers = 2,
            Device = "cpu",
            CheckpointEvery = 1_000_000,
            LogEvery = 50,
        };
        var clock = Stopwatch.StartNew();
        using (var session = new TrainingSession(config with { Vocab = "openai" }, resume: false))
        {
            Console.WriteLine(
                $"startup_seconds {clock.Elapsed.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture)}"
            );
            var loaderClock = Stopwatch.StartNew();
            long images = 0;
            foreach (var batch in session.Loader.Batches(new Data.LoaderPosition(0, 0), 20))
                using (batch)
                    images += batch.Images.shape[0] + (batch.Unpaired?.shape[0] ?? 0);
            Console.WriteLine(
                $"loader_images_per_s "
                    + $"{(images / loaderClock.Elapsed.TotalSeconds).ToString("F0", CultureInfo.InvariantCulture)}"
            );
            session.Train();
        }
        Console.WriteLine($"seconds {clock.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)}");
        Console.WriteLine($"peak_mib {(long)ProcessMemory.PeakResidentMb()}");
        return 0;
    }
}
