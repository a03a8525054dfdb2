extern alias onnx;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using SemiClip.Evaluation;
using SemiClip.Export;
using SemiClip.Model;
using SemiClip.Tokenization;
using SkiaSharp;
using static TorchSharp.torch;
using OnnxClip = onnx::SemiClip.Onnx.OnnxClip;

namespace SemiClip.Bench;

/// <summary><c>bench onnx</c>: the exported ONNX pair in ONNX Runtime against the same model in TorchSharp, side by
/// side in one process on this CPU: images/s and texts/s (random weights), for fp32 and fp16 weight files; export time
/// and file sizes; the start-up of an ONNX-only search (load both graphs, embed one query).</summary>
public static class OnnxBenchmark
{
    sealed record Row(
        string Model,
        string Weights,
        double ExportSeconds,
        double TextMb,
        double VisionMb,
        double TorchImagesPerSecond,
        double OnnxImagesPerSecond,
        double TorchTextsPerSecond,
        double OnnxTextsPerSecond,
        double OnnxStartSeconds
    );

    public static int Run(string[] args)
    {
        var models = BenchReport.Option(args, "--models", "tiny-vit,ViT-B-32").Split(',');
        int images = int.Parse(BenchReport.Option(args, "--images", "64"), CultureInfo.InvariantCulture);
        int texts = int.Parse(BenchReport.Option(args, "--texts", "128"), CultureInfo.InvariantCulture);
        var work = Path.Combine(Path.GetTempPath(), $"semiclip-bench-onnx-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        try
        {
            var paths = Enumerable
                .Range(0, images)
                .Select(i => WriteNoise(Path.Combine(work, $"img{i:D3}.png"), i))
                .ToList();
            var captions = Enumerable
                .Range(0, texts)
                .Select(i => $"an aerial view of {i % 7} buildings beside a river and {i % 5} green fields")
                .ToList();
            var rows = new List<Row>();
            foreach (var name in models)
            {
                manual_seed(0);
                using var model = new ClipModel(ClipConfig.Load(name));
                model.eval();
                using var bundle = new ModelBundle(model, ClipTokenizer.OpenAi());
                var torch = new Embedder(model, bundle.Tokenizer, CPU, 32, 2);
                torch.EncodeImages(paths.Take(2).ToList()).Dispose(); // warm-up
                double torchImages = Rate(() => torch.EncodeImages(paths).Dispose(), images);
                double torchTexts = Rate(() => torch.EncodeTexts(captions).Dispose(), texts);
                foreach (bool half in new[] { false, true })
                {
                    var dir = Path.Combine(work, $"{name}-{(half ? "fp16" : "fp32")}");
                    var clock = Stopwatch.StartNew();
                    ModelExport.Write(bundle, ExportFormat.Onnx, dir, half);
                    double export = clock.Elapsed.TotalSeconds;
                    clock.Restart();
                    using var clip = OnnxClip.Load(dir);
                    clip.EmbedTexts(["a river"]);
                    double start = clock.Elapsed.TotalSeconds;
                    clip.EmbedImages(paths.Take(2).ToList()); // warm-up
                    double onnxImages = Rate(
                        () =>
                        {
                            foreach (var chunk in paths.Chunk(32))
                                clip.EmbedImages(chunk);
                        },
                        images
                    );
                    double onnxTexts = Rate(
                        () =>
                        {
                            foreach (var chunk in captions.Chunk(32))
                                clip.EmbedTexts(chunk);
                        },
                        texts
                    );
                    double Mb(string file) => new FileInfo(Path.Combine(dir, file)).Length / 1048576.0;
                    rows.Add(
                        new Row(
                            name,
                            half ? "fp16" : "fp32",
                            export,
                            Mb("text_model.onnx"),
                            Mb("vision_model.onnx"),
                            torchImages,
                            onnxImages,
                            torchTexts,
                            onnxTexts,
                            start
                        )
                    );
                    Console.WriteLine(rows[^1]);
                    Directory.Delete(dir, recursive: true);
                }
            }
            var md = new StringBuilder(
                $"# ONNX Runtime vs TorchSharp embedding ({Environment.ProcessorCount} cores, random weights, "
                    + $"{images} images of 256×256 px, {texts} texts of 77 tokens, batch 32; TorchSharp "
                    + $"{get_num_threads()} threads, "
                    + "ONNX Runtime's default threads)\n\n"
            );
            md.Append(
                "| model | ONNX weights | export s | text MB | vision MB | TorchSharp img/s | ONNX img/s | "
                    + "TorchSharp text/s | "
                    + "ONNX text/s | ONNX start-up s |\n|---|---|---|---|---|---|---|---|---|---|\n"
            );
            foreach (var r in rows)
                md.Append(
                    string.Create(
                        CultureInfo.InvariantCulture,
                        $"| {r.Model} | {r.Weights} | {r.ExportSeconds:F1} | {r.TextMb:F1} | "
                            + $"{r.VisionMb:F1} | {r.TorchImagesPerSecond:F1} | {r.OnnxImagesPerSecond:F1} | "
                            + $"{r.TorchTextsPerSecond:F1} | "
                            + $"{r.OnnxTextsPerSecond:F1} | {r.OnnxStartSeconds:F2} |\n"
                    )
                );
            md.Append(
                "\nImages/s include decoding and preprocessing (the same code on both sides). fp16 stores the "
                    + "weights in half "
                    + "precision and casts them to float32 inside the graph, so it halves the files, not the "
                    + "arithmetic.\n"
            );
            BenchReport.Write(BenchReport.ResultsDir(args), "onnx", rows, md.ToString());
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    static double Rate(Action work, int items)
    {
        var clock = Stopwatch.StartNew();
        work();
        return items / clock.Elapsed.TotalSeconds;
    }

    static string WriteNoise(string path, int seed)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(256, 256);
        for (int y = 0; y < 256; y++)
            for (int x = 0; x < 256; x++)
            {
                var (r, g, b) = ((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
                bitmap.SetPixel(x, y, new SKColor(r, g, b));
            }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 90);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }
}
