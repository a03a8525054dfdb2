using System.CommandLine;
using System.Globalization;
using SemiClip.Cli.Ui;
using SemiClip.Data;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip keywords extract</c>: YAKE top-N keywords from a caption file, for S-CLIP's keyword
/// loss.</summary>
public static class KeywordsCommand
{
    public static Command Create()
    {
        var data = new Argument<string>("captions") { Description = "caption file (CSV/TSV, JSONL, Karpathy JSON)" };
        var top = new Option<int>("--top")
        {
            Description = "how many keywords to keep",
            DefaultValueFactory = _ => 100,
        }.AtLeast(1);
        var ngram = new Option<int>("--max-ngram")
        {
            Description = "longest keyword, in words",
            DefaultValueFactory = _ => 2,
        }.AtLeast(1);
        var split = new Option<string>("--split")
        {
            Description =
                "Karpathy split to read (train by default, so test captions never shape the keywords; 'all' reads "
                + "every entry)",
            DefaultValueFactory = _ => "train",
        };
        var output = new Option<string?>("--out") { Description = "write one keyword per line to this file" };
        var imageRoot = new Option<string?>("--image-root")
        {
            Description = "folder image paths are relative to (default: the caption file's)",
        };
        var extract = new Command("extract", "Extract keywords with YAKE from a caption corpus")
        {
            data,
            top,
            ngram,
            output,
            imageRoot,
            split,
        };
        extract.SetAction(p =>
        {
            if (p.GetValue(output) is { } target)
                CommonOptions.RequireWritableFile(target, "--out");
            var chosen = p.GetValue(split) is "all" ? null : p.GetValue(split);
            var samples = CaptionDatasetReader.Read(
                p.GetValue(data)!,
                new CaptionDatasetOptions
                {
                    ImageRoot = p.GetValue(imageRoot),
                    CheckImagesExist = false,
                    Split = chosen,
                },
                new BadInputReport(BadInputPolicy.Skip)
            );
            var keywords = YakeKeywordExtractor.Extract(
                samples.SelectMany(s => s.Captions),
                p.GetValue(top),
                p.GetValue(ngram)
            );
            if (p.GetValue(output) is { } path)
            {
                IO.AtomicFile.WriteAllText(path, string.Join('\n', keywords.Select(k => k.Keyword)) + "\n");
                ConsoleUi.Line($"wrote {keywords.Count} keywords to {path}");
            }
            ConsoleUi.Table(
                "YAKE keywords (lower score = more relevant)",
                ["keyword", "score"],
                keywords.Take(30).Select(k => new[] { k.Keyword, k.Score.ToString("G4", CultureInfo.InvariantCulture) })
            );
            return 0;
        });
        return new Command("keywords", "Keyword lists for S-CLIP") { extract };
    }
}
