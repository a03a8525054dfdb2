using System.Text.Json;
using SemiClip.Data;
using SemiClip.Data.Images;
using SemiClip.Evaluation;
using SemiClip.Model;

namespace SemiClip.Bench;

/// <summary><c>bench reference-export</c>: what the real-data benchmark's pretrained regime trains and evaluates on, as
/// plain little-endian arrays a PyTorch loop reads with numpy (bench/reference/sclip_reference.py): the train and
/// test images after SemiClip's evaluation transform (uint8, N×3×S×S), every caption's tokens, each caption's keyword
/// labels, the paired subset of each seed as SemiClip's split draws it, the class prompts' and keywords' tokens and
/// the 15-class start. Both sides then differ only in the loop and the loss, not in the data.</summary>
public static class ReferenceExport
{
    public static int Run(string[] args)
    {
        var repo = BenchReport.RepoRoot();
        var source = BenchReport.Option(
            args,
            "--data",
            Path.GetFullPath(Path.Combine(repo, "..", "shared", "data", "rsicd10k"))
        );
        var work = BenchReport.Option(args, "--work-dir", Path.Combine(repo, "runs", "bench-real"));
        var outDir = Directory
            .CreateDirectory(BenchReport.Option(args, "--out", Path.Combine(work, "reference-data")))
            .FullName;
        var seeds = BenchReport.Option(args, "--seeds", "0,1,2").Split(',').Select(int.Parse).ToArray();
        double ratio = double.Parse(
            BenchReport.Option(args, "--label-ratio", "0.1"),
            System.Globalization.CultureInfo.InvariantCulture
        );
        var start = Path.Combine(
            work,
            "runs",
            $"pretrain15-st{RealDataBenchmark.DefaultPretrainSteps}-lr5e-4",
            "model.safetensors"
        );
        if (!File.Exists(start))
        {
            Console.Error.WriteLine(
                $"{start}: the 15-class start is missing (run `bench real --regimes pretrained` first)."
            );
            return 2;
        }
        var data = RealData.Prepare(source, Path.Combine(work, "data"));
        using var model = ClipCheckpoint.Load(start);
        int context = model.Config.Text.ContextLength,
            size = model.Config.Vision.ImageSize;
        var report = new BadInputReport(BadInputPolicy.FailFast);
        // The benchmark's reading of the train split, so the split below draws the same paired images.
        var train = CaptionDatasetReader.Read(
            data.CaptionFile,
            new CaptionDatasetOptions { ImageRoot = data.ImageRoot, Split = "train" },
            report
        );
        var test = CaptionDatasetReader.Read(
            data.CaptionFile,
            new CaptionDatasetOptions { ImageRoot = data.ImageRoot, Split = "test" },
            report
        );
        // The benchmark's runs match keywords with the config's default rule (reference: " k " in " caption ").
        var keywords = KeywordLabeler.FromFile(data.KeywordsPath, new Training.TrainConfig().KeywordMatch);
        int captionsPerImage = train.Max(s => s.Captions.Count);

        var pre = new ImagePreprocessor(size);
        WriteImages(Path.Combine(outDir, "train_images.u8"), train.Select(s => s.ImagePath), pre);
        WriteImages(Path.Combine(outDir, "test_images.u8"), test.Select(s => s.ImagePath), pre);

        var tokens = new List<int>();
        var keywordLabels = new List<byte>();
        var captionCounts = new List<int>();
        foreach (var sample in train)
        {
            captionCounts.Add(sample.Captions.Count);
            for (int c = 0; c < captionsPerImage; c++)
            {
                // Fewer captions than the widest image: the slot repeats the first, and caption_counts says how many
                // are real.
                var caption = sample.Captions[c < sample.Captions.Count ? c : 0];
                tokens.AddRange(Flat(data.Tokenizer.TokenizeToArray([caption], context)));
                keywordLabels.AddRange(keywords.Label(caption).Select(v => (byte)v));
            }
        }
        WriteInts(Path.Combine(outDir, "train_tokens.i32"), tokens);
        WriteInts(Path.Combine(outDir, "train_caption_counts.i32"), captionCounts);
        IO.AtomicFile.Write(Path.Combine(outDir, "train_keyword_labels.u8"), s => s.Write(keywordLabels.ToArray()));
        WriteInts(
            Path.Combine(outDir, "keyword_tokens.i32"),
            Flat(data.Tokenizer.TokenizeToArray(keywords.Keywords.ToList(), context))
        );

        var classes = test.Select(s => ClassNames.Humanise(s.Label!)).Distinct().Order(StringComparer.Ordinal).ToList();
        WriteInts(
            Path.Combine(outDir, "test_labels.i32"),
            test.Select(s => classes.IndexOf(ClassNames.Humanise(s.Label!)))
        );
        var prompts = PromptTemplates.RemoteSensing.SelectMany(t => classes.Select(c => t.Replace("{}", c))).ToList();
        WriteInts(Path.Combine(outDir, "class_tokens.i32"), Flat(data.Tokenizer.TokenizeToArray(prompts, context)));

        var index = train.Select((s, i) => (s.ImagePath, i)).ToDictionary(p => p.ImagePath, p => p.i);
        var paired = seeds.ToDictionary(
            seed => $"{seed}",
            seed => PairedUnpairedSplit.Create(train, ratio, seed).Paired.Select(s => index[s.ImagePath]).ToArray()
        );
        var manifest = new
        {
            start,
            image_size = size,
            context_length = context,
            captions_per_image = captionsPerImage,
            train_images = train.Count,
            test_images = test.Count,
            keywords = keywords.Keywords,
            keyword_match = $"{new Training.TrainConfig().KeywordMatch}".ToLowerInvariant(),
            classes,
            templates = PromptTemplates.RemoteSensing,
            pretrain_classes = data.PretrainClasses,
            new_classes = data.NewClasses,
            label_ratio = ratio,
            paired,
            mean = ImagePreprocessor.Mean,
            std = ImagePreprocessor.Std,
        };
        IO.AtomicFile.WriteAllText(
            Path.Combine(outDir, "manifest.json"),
            JsonSerializer.Serialize(manifest, BenchReport.Json)
        );
        Console.WriteLine(
            $"reference data: {train.Count} train, {test.Count} test images, {keywords.Keywords.Count} keywords → "
                + $"{outDir}"
        );
        return 0;
    }

    static IEnumerable<int> Flat(long[,] tokens)
    {
        foreach (var t in tokens)
            yield return checked((int)t);
    }

    static void WriteInts(string path, IEnumerable<int> values)
    {
        using var stream = new BinaryWriter(File.Create(path + ".tmp"));
        foreach (var v in values)
            stream.Write(v);
        stream.Close();
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>The evaluation transform's pixels, undone back to bytes (exact: they were bytes after the
    /// resize).</summary>
    static void WriteImages(string path, IEnumerable<string> images, ImagePreprocessor pre)
    {
        var floats = new float[pre.FloatsPerImage];
        var bytes = new byte[pre.FloatsPerImage];
        int plane = pre.ImageSize * pre.ImageSize;
        using (var stream = File.Create(path + ".tmp"))
            foreach (var image in images)
            {
                using (var bitmap = ImageDecoder.Decode(image))
                    pre.Eval(bitmap, floats);
                for (int i = 0; i < floats.Length; i++)
                {
                    int c = i / plane;
                    bytes[i] = (byte)
                        Math.Clamp(
                            Math.Round((floats[i] * ImagePreprocessor.Std[c] + ImagePreprocessor.Mean[c]) * 255),
                            0,
                            255
                        );
                }
                stream.Write(bytes);
            }
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
