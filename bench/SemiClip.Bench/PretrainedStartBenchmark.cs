using System.Diagnostics;
using System.Globalization;
using System.Text;
using SemiClip.Data;
using SemiClip.Data.Images;
using SemiClip.Evaluation;
using SemiClip.IO;
using SemiClip.Losses;
using SemiClip.Model.Pretrained;
using SemiClip.Tensors;
using SemiClip.Tokenization;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace SemiClip.Bench;

/// <summary><c>bench pretrained-start</c>: the web-pretrained towers NuGet brings (ImageNet ResNet18, all-MiniLM-L6-v2)
/// as a start on real data (RSICD captions on AID images). Both towers are locked, so their features are computed
/// once (cached in runs/) and only the two projections and the temperature learn, LiT-style; the library's own
/// objective (<see cref="TrainingObjective"/>) trains them as CLIP or as S-CLIP (caption-level pseudo-labels) with 10%
/// of the training images paired. Reports how often an unpaired image's nearest paired image has its class (what
/// S-CLIP's pseudo-labels rest on) and AID zero-shot top-1 on val and test, per seed.</summary>
public static class PretrainedStartBenchmark
{
    const int EmbedDim = 256;

    public static int Run(string[] args)
    {
        var repo = BenchReport.RepoRoot();
        if (BenchReport.RsicdData(args) is not { } data)
            return 2;
        var captions = Path.Combine(data, "dataset_rsicd10k.json");
        int steps = int.Parse(BenchReport.Option(args, "--steps", "300"), CultureInfo.InvariantCulture);
        double ratio = double.Parse(BenchReport.Option(args, "--label-ratio", "0.1"), CultureInfo.InvariantCulture);
        var seeds = BenchReport.Option(args, "--seeds", "0,1,2").Split(',').Select(int.Parse).ToArray();
        var methods = BenchReport.Option(args, "--methods", "clip,sclip").Split(',');
        var cache = Path.Combine(repo, "runs", "pretrained-start");
        Directory.CreateDirectory(cache);

        var report = new BadInputReport(BadInputPolicy.FailFast);
        var options = new CaptionDatasetOptions { ImageRoot = Path.Combine(data, "images") };
        var bySplit = new Dictionary<string, List<CaptionSample>>();
        foreach (var split in new[] { "train", "val", "test" })
            bySplit[split] = CaptionDatasetReader.Read(captions, options with { Split = split }, report);
        var classes = bySplit["train"].Select(s => s.Label!).Distinct().Order(StringComparer.Ordinal).ToList();

        var clock = Stopwatch.StartNew();
        var imageFeatures = bySplit.ToDictionary(
            kv => kv.Key,
            kv => CachedImageFeatures(kv.Value, Path.Combine(cache, $"resnet18-{kv.Key}.safetensors"))
        );
        var imageSeconds = clock.Elapsed.TotalSeconds;
        var tokenizer = PackagedStart.Tokenizer();
        using var text = MiniLM();
        var classNames = classes.Select(ClassNames.Humanise).ToList();
        var prompts = ZeroShotClassifier.Prompts(classNames, PromptTemplates.RemoteSensing);
        using var promptFeatures = EncodeTexts(text, tokenizer, prompts);
        Console.WriteLine($"image features: {imageSeconds:F0} s (cached in {cache})");

        var rows = new List<Row>();
        foreach (int seed in seeds)
        {
            var split = PairedUnpairedSplit.Create(bySplit["train"], ratio, seed);
            var index = bySplit["train"].Select((s, i) => (s.ImagePath, i)).ToDictionary(x => x.ImagePath, x => x.i);
            var paired = split.Paired.Select(s => index[s.ImagePath]).ToArray();
            var unpaired = split.Unpaired.Select(p => index[p]).ToArray();
            var labels = bySplit["train"].Select(s => classes.IndexOf(s.Label!)).ToArray();
            double nearest = NearestPairedSameClass(imageFeatures["train"], paired, unpaired, labels);
            // Every caption of a paired image, encoded once by the locked text tower.
            var pairedCaptions = split.Paired.SelectMany(s => s.Captions.Select(c => (Image: index[s.ImagePath], c)));
            var captionList = pairedCaptions.ToList();
            using var captionFeatures = EncodeTexts(text, tokenizer, captionList.Select(c => c.c).ToList());
            var captionImage = captionList.Select(c => c.Image).ToArray();
            foreach (var method in methods)
            {
                var watch = Stopwatch.StartNew();
                var (val, test) = Train(
                    method,
                    seed,
                    steps,
                    imageFeatures,
                    captionFeatures,
                    captionImage,
                    unpaired,
                    promptFeatures,
                    bySplit,
                    classes
                );
                rows.Add(new Row(method, seed, nearest, val, test, watch.Elapsed.TotalSeconds));
                Console.WriteLine(
                    $"{method} seed {seed}: nearest-paired same class {100 * nearest:F1}%, zero-shot val "
                        + $"{100 * val:F1}%, test {100 * test:F1}% ({watch.Elapsed.TotalSeconds:F0} s)"
                );
            }
        }
        foreach (var f in imageFeatures.Values)
            f.Dispose();
        WriteReport(BenchReport.ResultsDir(args), rows, steps, ratio, imageSeconds);
        return 0;
    }

    public sealed record Row(string Method, int Seed, double NearestPairedSameClass, double ValTop1, double TestTop1,
        double TrainSeconds);

    /// <summary>ResNet18 pooled features of every image, computed once and kept in <paramref name="file"/>.</summary>
    internal static Tensor CachedImageFeatures(List<CaptionSample> samples, string file)
    {
        if (File.Exists(file))
        {
            using var reader = new SafeTensorsReader(file);
            var cached = reader.Read("features");
            if (cached.shape[0] == samples.Count)
                return cached;
            cached.Dispose();
        }
        using var prep = OnnxWeights.Read(PackagedWeights.ResNet18Preprocess);
        using var meanImage = prep.Get("MeanImage").clone(); // [1, 3, 224, 224], BGR
        using var weights = OnnxWeights.Read(PackagedWeights.ResNet18Onnx);
        using var tower = ImageResNet.FromOnnx(
            weights,
            new ImageResNetConfig { Layers = [2, 2, 2, 3], Padding = ResNetPadding.SameLower }
        );
        tower.eval();
        var parts = new List<Tensor>();
        const int batch = 64;
        var clock = Stopwatch.StartNew();
        for (int start = 0; start < samples.Count; start += batch)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            int count = Math.Min(batch, samples.Count - start);
            var pixels = new float[count * 3 * 224 * 224];
            Parallel.For(0, count, i => Bgr224(samples[start + i].ImagePath, pixels.AsSpan(i * 3 * 224 * 224)));
            var x = tensor(pixels, [count, 3, 224, 224]) - meanImage;
            parts.Add(tower.forward(x).MoveToOuterDisposeScope());
            if (start / batch % 20 == 0)
                Console.WriteLine($"  {start + count}/{samples.Count} images ({clock.Elapsed.TotalSeconds:F0} s)");
        }
        var features = cat(parts, 0);
        foreach (var p in parts)
            p.Dispose();
        SafeTensorsWriter.Write(file, new Dictionary<string, Tensor> { ["features"] = features });
        return features;
    }

    /// <summary>An image as the package's preprocessing wants it before its mean image: 224×224, BGR, 0..255.</summary>
    static void Bgr224(string path, Span<float> destination)
    {
        using var decoded = ImageDecoder.Decode(path);
        using var resized = decoded.Resize(new SKImageInfo(224, 224, SKColorType.Rgba8888, SKAlphaType.Unpremul),
            ImagePreprocessor.Bicubic);
        const int plane = 224 * 224;
        for (int y = 0; y < 224; y++)
            for (int x = 0; x < 224; x++)
            {
                var c = resized.GetPixel(x, y);
                destination[y * 224 + x] = c.Blue;
                destination[plane + y * 224 + x] = c.Green;
                destination[2 * plane + y * 224 + x] = c.Red;
            }
    }

    /// <summary>all-MiniLM-L6-v2 in eval mode: the text tower both benches keep locked.</summary>
    internal static BertTextTower MiniLM()
    {
        var tower = PackagedStart.MiniLM();
        tower.eval();
        return tower;
    }

    /// <summary>The tower's pooled output for every text, 256 at a time (context 64); <paramref name="progress"/> is
    /// told how many are done every ten batches.</summary>
    internal static Tensor EncodeTexts(
        BertTextTower tower,
        WordPieceTokenizer tokenizer,
        IReadOnlyList<string> texts,
        Action<int>? progress = null
    )
    {
        var parts = new List<Tensor>();
        for (int start = 0; start < texts.Count; start += 256)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var (ids, mask) = tokenizer.EncodeBatch(texts.Skip(start).Take(256).ToList(), 64);
            parts.Add(tower.forward(ids, mask).MoveToOuterDisposeScope());
            if (start / 256 % 10 == 0)
                progress?.Invoke(start);
        }
        var all = cat(parts, 0);
        foreach (var p in parts)
            p.Dispose();
        return all;
    }

    /// <summary>How often an unpaired image's nearest paired image (cosine, in the locked image features) has its
    /// class.</summary>
    static double NearestPairedSameClass(Tensor features, int[] paired, int[] unpaired, int[] labels)
    {
        using var scope = NewDisposeScope();
        var f = nn.functional.normalize(features, dim: 1);
        var p = f.index_select(0, tensor(paired.Select(i => (long)i).ToArray()));
        var u = f.index_select(0, tensor(unpaired.Select(i => (long)i).ToArray()));
        var nearest = u.matmul(p.t()).argmax(1).data<long>().ToArray();
        int same = unpaired.Where((img, k) => labels[img] == labels[paired[nearest[k]]]).Count();
        return (double)same / unpaired.Length;
    }

    /// <summary>The projections and temperature trained by the library's objective; returns zero-shot top-1 on val and
    /// test.</summary>
    static (double Val, double Test) Train(
        string method,
        int seed,
        int steps,
        Dictionary<string, Tensor> images,
        Tensor captionFeatures,
        int[] captionImage,
        int[] unpaired,
        Tensor prompts,
        Dictionary<string, List<CaptionSample>> bySplit,
        List<string> classes
    )
    {
        var generator = new Generator((ulong)seed);
        var imageProjection = nn.Parameter(randn(512, EmbedDim, generator: generator).Times(Math.Pow(512, -0.5)));
        var textProjection = nn.Parameter(randn(384, EmbedDim, generator: generator).Times(Math.Pow(384, -0.5)));
        var logitScale = nn.Parameter(tensor((float)Math.Log(1 / 0.07)));
        var optimizer = optim.AdamW([imageProjection, textProjection, logitScale], lr: 1e-3, weight_decay: 0.1);
        var objective = new TrainingObjective(
            new LossConfig { Method = LossConfig.ParseMethod(method), KeywordWeight = 0 }
        );
        var rng = new Random(seed);
        var train = images["train"];
        // As the trainer's batches: 64 pairs for CLIP; 32 pairs and 32 unpaired images for S-CLIP.
        int pairs = objective.Config.UsesUnpaired ? 32 : 64;
        for (int step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var captions = Enumerable.Range(0, pairs).Select(_ => rng.Next(captionImage.Length)).ToArray();
            var imageRows = tensor(captions.Select(c => (long)captionImage[c]).ToArray());
            var image = nn.functional.normalize(train.index_select(0, imageRows).matmul(imageProjection), dim: 1);
            var textFeatures = captionFeatures.index_select(0, tensor(captions.Select(c => (long)c).ToArray()));
            var textEmbedded = nn.functional.normalize(textFeatures.matmul(textProjection), dim: 1);
            var inputs = new LossInputs(image, textEmbedded, logitScale.exp()) { Step = step };
            if (objective.Config.UsesUnpaired)
            {
                var drawn = Enumerable.Range(0, 32).Select(_ => (long)unpaired[rng.Next(unpaired.Length)]).ToArray();
                var u = train.index_select(0, tensor(drawn)).matmul(imageProjection);
                inputs = inputs with { UnpairedFeatures = nn.functional.normalize(u, dim: 1) };
            }
            var loss = objective.Compute(inputs).Total();
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            using (no_grad())
                logitScale.Clamp_(0, Math.Log(100));
        }
        double Top1(string split)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var image = nn.functional.normalize(images[split].matmul(imageProjection), dim: 1);
            var classEmbeddings = nn.functional.normalize(prompts.matmul(textProjection), dim: 1);
            var predicted = image.matmul(classEmbeddings.t()).argmax(1).data<long>().ToArray();
            var truth = bySplit[split].Select(s => classes.IndexOf(s.Label!)).ToArray();
            return (double)predicted.Where((p, i) => p == truth[i]).Count() / truth.Length;
        }
        return (Top1("val"), Top1("test"));
    }

    static void WriteReport(string dir, List<Row> rows, int steps, double ratio, double imageSeconds)
    {
        var md = new StringBuilder();
        md.AppendLine("# A real start: locked ImageNet ResNet18 + all-MiniLM-L6-v2 on RSICD/AID (LiT-style)\n");
        md.AppendLine(
            $"Both towers locked (features computed once: {imageSeconds:F0} s for the images, or read from the "
                + $"cache); the image and text projections (to {EmbedDim}) and the temperature learn for {steps} "
                + $"steps (AdamW lr 1e-3, wd 0.1), {100 * ratio:F0}% of the train images paired; S-CLIP is the "
                + "library's objective with caption-level pseudo-labels (keyword loss off: RSICD ships no keyword "
                + "list). Zero-shot: AID's 30 classes, prompt \"an aerial photograph of {}.\".\n"
        );
        md.AppendLine("| method | seed | nearest paired image has the class | val top-1 | test top-1 | train s |");
        md.AppendLine("|---|---|---|---|---|---|");
        foreach (var r in rows)
            md.AppendLine(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"| {r.Method} | {r.Seed} | {100 * r.NearestPairedSameClass:F1} | {100 * r.ValTop1:F1} | "
                        + $"{100 * r.TestTop1:F1} | {r.TrainSeconds:F0} |"
                )
            );
        md.AppendLine();
        foreach (var g in rows.GroupBy(r => r.Method))
        {
            var t = g.Select(r => 100 * r.TestTop1).ToArray();
            double mean = t.Average(),
                sd = Math.Sqrt(t.Sum(v => (v - mean) * (v - mean)) / Math.Max(1, t.Length - 1));
            md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"- {g.Key}: test top-1 {mean:F1} ± {sd:F1}"));
        }
        md.AppendLine($"\nMade by: `{BenchReport.CommandLine()}`");
        BenchReport.Write(dir, "pretrained-start", rows, md.ToString());
    }
}
