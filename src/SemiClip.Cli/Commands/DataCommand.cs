using System.CommandLine;
using System.Globalization;
using SemiClip.Cli.Ui;
using SemiClip.Data;
using SemiClip.Tokenization;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip data inspect</c>: counts, caption lengths in tokens, a paired/unpaired split, and the first
/// problems.</summary>
public static class DataCommand
{
    public static Command Create()
    {
        var dataset = new Argument<string>("dataset")
        {
            Description = "caption file, class folder tree, path,label CSV, or unpaired image folder",
        };
        var imageRoot = new Option<string?>("--image-root")
        {
            Description = "folder image paths are relative to (default: the caption file's)",
        };
        var split = new Option<string?>("--split") { Description = "Karpathy split to keep (train/val/test)" };
        var labelRatio = new Option<double?>("--label-ratio")
        {
            Description = "also report a paired/unpaired split",
        }.LabelRatio();
        var seed = new Option<int>("--seed")
        {
            Description = "split seed for --label-ratio",
            DefaultValueFactory = _ => 0,
        };
        var vocab = new Option<string?>("--vocab") { Description = "tokenizer for caption lengths (default OpenAI's)" };
        var checkImages = CommonOptions.CheckImages();
        var inspect = new Command("inspect", "Summarise a dataset and list its problems")
        {
            dataset,
            imageRoot,
            split,
            labelRatio,
            seed,
            vocab,
            checkImages,
        };
        inspect.SetAction(p =>
        {
            var path = p.GetValue(dataset)!;
            if (!File.Exists(path) && !Directory.Exists(path))
                throw new FileNotFoundException(
                    $"{path}: not found (data inspect takes a caption file, a class folder tree or an image folder).",
                    path
                );
            var report = new BadInputReport(BadInputPolicy.Skip);
            var inv = CultureInfo.InvariantCulture;
            var rows = new List<string[]>();
            bool captionFile =
                File.Exists(path) && Path.GetExtension(path).ToLowerInvariant() is ".jsonl" or ".json" or ".tsv"
                || File.Exists(path)
                    && path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)
                    && File.ReadLines(path).FirstOrDefault()?.Contains("title") == true;
            if (captionFile)
            {
                var stats = new CaptionReadStats();
                var samples = CaptionDatasetReader.Read(
                    path,
                    new CaptionDatasetOptions { ImageRoot = p.GetValue(imageRoot), Split = p.GetValue(split) },
                    report,
                    stats
                );
                var bad = CommonOptions.RunImageCheck(
                    samples.Select(s => s.ImagePath).ToList(),
                    p.GetValue(checkImages)!,
                    report,
                    ""
                );
                samples = samples.Where(s => !bad.Contains(s.ImagePath)).ToList();
                var tok = ClipTokenizer.Load(p.GetValue(vocab));
                var lengths = samples
                    .SelectMany(s => s.Captions)
                    .Select(c => tok.Encode(c).Count + 2)
                    .OrderBy(x => x)
                    .ToList();
                rows.Add(new[] { "images", samples.Count.ToString(inv) });
                rows.Add(new[] { "captions", lengths.Count.ToString(inv) });
                rows.Add(
                    new[]
                    {
                        "empty captions (dropped; their images keep the others)",
                        stats.EmptyCaptions.ToString(inv),
                    }
                );
                if (lengths.Count > 0)
                {
                    rows.Add(
                        new[]
                        {
                            "tokens per caption (min / median / p95 / max)",
                            $"{lengths[0]} / {lengths[lengths.Count / 2]} / "
                                + $"{lengths[(int)(0.95 * (lengths.Count - 1))]} / {lengths[^1]}",
                        }
                    );
                    rows.Add(new[] { "captions longer than 77 tokens", lengths.Count(l => l > 77).ToString(inv) });
                }
                if (p.GetValue(labelRatio) is double r && samples.Count > 0)
                {
                    var s = PairedUnpairedSplit.Create(samples, r, p.GetValue(seed));
                    rows.Add(
                        new[]
                        {
                            $"paired / unpaired at label ratio {r.ToString(inv)}",
                            $"{s.Paired.Count} / {s.Unpaired.Count}",
                        }
                    );
                }
            }
            else if (
                Directory.Exists(path)
                && !Directory.EnumerateDirectories(path).Any()
                && !Directory.EnumerateFiles(path, "*.txt").Any()
            )
            {
                var images = ImageFiles.FromFolderOrList(path, report);
                var bad = CommonOptions.RunImageCheck(images, p.GetValue(checkImages)!, report, "");
                rows.Add(new[] { "unpaired images", (images.Count - bad.Count).ToString(inv) });
            }
            else
            {
                var ds = ClassificationDataset.Load(path, report, p.GetValue(imageRoot));
                var bad = CommonOptions.RunImageCheck(
                    ds.Items.Select(i => i.ImagePath).ToList(),
                    p.GetValue(checkImages)!,
                    report,
                    ""
                );
                ds = ds with { Items = ds.Items.Where(i => !bad.Contains(i.ImagePath)).ToList() };
                rows.Add(new[] { "images", ds.Items.Count.ToString(inv) });
                rows.Add(new[] { "classes", ds.ClassNames.Count.ToString(inv) });
                foreach (var g in ds.Items.GroupBy(i => i.Label).OrderBy(g => g.Key).Take(20))
                    rows.Add(new[] { $"  {ds.ClassNames[g.Key]}", g.Count().ToString(inv) });
            }
            rows.Add(new[] { "problems", report.Count.ToString(inv) });
            ConsoleUi.Table(Path.GetFileName(Path.GetFullPath(path).TrimEnd('/')), ["", "value"], rows);
            foreach (var b in report.Items.Take(20))
                ConsoleUi.Line("  " + b);
            if (report.Count > 20)
                ConsoleUi.Line($"  … and {report.Count - 20} more");
            if (p.GetValue(imageRoot) is null && report.Items.Any(b => b.Problem.Contains("does not exist")))
                ConsoleUi.Line(
                    "  images are looked up beside the caption file (or the folder it names); if they live "
                        + "elsewhere, pass --image-root FOLDER."
                );
            // Problems make a non-zero exit, so a script (or CI) that inspects data before training stops there.
            return report.Count == 0 ? 0 : 1;
        });
        return new Command("data", "Inspect datasets") { inspect };
    }
}
