using System.Diagnostics;
using System.Globalization;
using SemiClip.Data.Images;
using SemiClip.Evaluation;
using SemiClip.Model;
using SemiClip.Tokenization;
using static TorchSharp.torch;

namespace SemiClip.Bench;

/// <summary><c>bench encode</c>: how fast <c>semiclip embed</c> and <c>semiclip eval</c> turn image files into
/// features. Both encode through <see cref="Embedder"/> (decode and evaluation transform on worker threads, ahead of
/// the forward pass), so one measurement serves both. Beside the whole path, the decode + transform alone and the
/// forward pass alone on ready tensors, which says which of the two bounds the throughput.</summary>
public static class EncodeThroughputBenchmark
{
    public static int Run(string[] args)
    {
        var repo = BenchReport.RepoRoot();
        var folder = BenchReport.Option(
            args,
            "--images",
            Path.GetFullPath(Path.Combine(repo, "..", "shared", "data", "rsicd10k", "images"))
        );
        int count = int.Parse(BenchReport.Option(args, "--count", "512"), CultureInfo.InvariantCulture);
        int batch = int.Parse(BenchReport.Option(args, "--batch", "64"), CultureInfo.InvariantCulture);
        int workers = int.Parse(BenchReport.Option(args, "--workers", "2"), CultureInfo.InvariantCulture);
        var models = BenchReport.Option(args, "--models", "ViT-B-32").Split(',');
        if (!Directory.Exists(folder) && !File.Exists(folder))
        {
            Console.Error.WriteLine($"--images {folder}: not found (a folder or list of real images, e.g. AID's).");
            return 2;
        }
        var files = Data
            .ImageFiles.FromFolderOrList(folder, new Data.BadInputReport(Data.BadInputPolicy.FailFast))
            .Take(count)
            .ToList();
        var sizes = files
            .Take(8)
            .Select(f =>
            {
                using var image = ImageDecoder.Decode(f);
                return (image.Width, image.Height);
            })
            .Distinct()
            .ToList();
        var rows = new List<object>();
        var md = new System.Text.StringBuilder("# Encoding image files (`semiclip embed` / `semiclip eval`)\n\n");
        md.Append(
            $"{files.Count:N0} files from `{Path.GetFileName(Path.GetDirectoryName(folder))}/"
                + $"{Path.GetFileName(folder)}` (source sizes seen: "
                + $"{string.Join(", ", sizes.Select(s => $"{s.Width}×{s.Height}"))}), random weights, fp32, batch "
                + $"{batch}, {workers} decode workers, {get_num_threads()} LibTorch threads. *whole path*: "
                + "`Embedder.EncodeImages` as embed and eval run it (decode and transform overlap the forward pass); "
                + "*decode + transform*: the same preprocessing alone on the same workers; *forward*: the image tower "
                + "on ready tensors.\n\n"
                + "| model | px | whole path images/s | decode + transform images/s | forward images/s | forward "
                + "GFLOP/s |\n|---|---|---|---|---|---|\n"
        );
        foreach (var name in models)
        {
            var config = ClipConfig.Load(name);
            using var model = new ClipModel(config, new Generator(0));
            model.eval();
            var embedder = new Embedder(model, ClipTokenizer.OpenAi(), CPU, batch, workers);
            using (embedder.EncodeImages(files.Take(batch).ToList())) { } // warm-up: kernels and allocator
            var clock = Stopwatch.StartNew();
            using (embedder.EncodeImages(files)) { }
            double whole = files.Count / clock.Elapsed.TotalSeconds;

            var prep = new ImagePreprocessor(config.Vision.ImageSize, config.Preprocess);
            clock.Restart();
            Parallel.ForEach(
                files,
                new ParallelOptions { MaxDegreeOfParallelism = workers },
                () => new float[prep.FloatsPerImage],
                (path, _, buffer) =>
                {
                    using var bmp = ImageDecoder.Decode(path);
                    prep.Eval(bmp, buffer);
                    return buffer;
                },
                _ => { }
            );
            double decode = files.Count / clock.Elapsed.TotalSeconds;

            int px = config.Vision.ImageSize;
            using var ready = randn(batch, 3, px, px, generator: new Generator(1));
            int batches = Math.Max(1, files.Count / batch);
            clock.Restart();
            using (no_grad())
                for (int b = 0; b < batches; b++)
                {
                    using var scope = NewDisposeScope();
                    _ = model.EncodeImage(ready);
                }
            double forward = batches * batch / clock.Elapsed.TotalSeconds;
            double gflops = forward * ModelFlops.ImageForward(config) / 1e9;
            Console.WriteLine(
                $"{name} @{px}: whole {whole:F1} images/s, decode+transform {decode:F1}, forward {forward:F1} "
                    + $"({gflops:F0} GFLOP/s)"
            );
            rows.Add(
                new
                {
                    model = name,
                    px,
                    images = files.Count,
                    batch,
                    workers,
                    threads = get_num_threads(),
                    whole_images_per_s = whole,
                    decode_transform_images_per_s = decode,
                    forward_images_per_s = forward,
                    forward_gflops_per_s = gflops,
                }
            );
            md.Append($"| {name} | {px} | {whole:F1} | {decode:F1} | {forward:F1} | {gflops:F0} |\n");
        }
        BenchReport.Write(BenchReport.ResultsDir(args), "encode-throughput", new { rows }, md.ToString());
        return 0;
    }
}
