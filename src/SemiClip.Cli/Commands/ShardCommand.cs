using System.CommandLine;
using SemiClip.Cli.Ui;
using SemiClip.Data;
using SemiClip.Data.Shards;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip shard</c>: converts a caption file (any supported format) or an image folder/list
/// (unpaired images) into webdataset tar shards that training streams with bounded memory.</summary>
public static class ShardCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input")
        {
            Description = "caption file (CSV/TSV, JSONL, Karpathy JSON), or an image folder / list file (images only)",
        };
        var output = new Option<string>("--out") { Description = "folder to write the shards into", Required = true };
        var prefix = new Option<string>("--prefix")
        {
            Description = "shard name prefix",
            DefaultValueFactory = _ => "shard-",
        };
        var perShard = new Option<int>("--samples-per-shard")
        {
            Description = "samples per tar file",
            DefaultValueFactory = _ => 1000,
        }.AtLeast(1);
        var checkImages = CommonOptions.CheckImages();
        var split = new Option<string?>("--split") { Description = "Karpathy split to convert (default: all entries)" };
        var imageRoot = new Option<string?>("--image-root")
        {
            Description = "folder image paths are relative to (default: the caption file's)",
        };
        var imgKey = new Option<string>("--csv-img-key")
        {
            DefaultValueFactory = _ => "filepath",
            Description = "CSV/TSV image column",
        };
        var capKey = new Option<string>("--csv-caption-key")
        {
            DefaultValueFactory = _ => "title",
            Description = "CSV/TSV caption column",
        };
        var skipBad = new Option<bool>("--skip-bad")
        {
            Description = "skip and list bad rows and missing images instead of stopping",
        };
        var command = new Command("shard", "Convert captions or images to webdataset tar shards")
        {
            input,
            output,
            prefix,
            perShard,
            split,
            imageRoot,
            imgKey,
            capKey,
            skipBad,
            checkImages,
        };
        command.SetAction(p =>
        {
            CommonOptions.RequireWritableFolder(p.GetValue(output)!, "--out");
            var report = new BadInputReport(p.GetValue(skipBad) ? BadInputPolicy.Skip : BadInputPolicy.FailFast);
            var path = p.GetValue(input)!;
            var stats = new CaptionReadStats();
            var samples =
                Directory.Exists(path) || IsImageList(path)
                    ? ImageFiles.FromFolderOrList(path, report).Select(i => new CaptionSample(i, [], i)).ToList()
                    : CaptionDatasetReader.Read(
                        path,
                        new CaptionDatasetOptions
                        {
                            ImageRoot = p.GetValue(imageRoot),
                            Split = p.GetValue(split),
                            ImageColumn = p.GetValue(imgKey)!,
                            CaptionColumn = p.GetValue(capKey)!,
                        },
                        report,
                        stats
                    );
            var bad = CommonOptions.RunImageCheck(
                samples.Select(s => s.ImagePath).ToList(),
                p.GetValue(checkImages)!,
                report,
                "No shard was written. Fix or remove them, or pass --skip-bad to pack the others."
            );
            samples = samples.Where(s => !bad.Contains(s.ImagePath)).ToList();
            if (stats.EmptyCaptions > 0)
                ConsoleUi.Line(
                    $"dropped {stats.EmptyCaptions} empty caption(s); their images keep their other captions"
                );
            string pattern;
            using (var writer = new WebDatasetWriter(p.GetValue(output)!, p.GetValue(prefix)!, p.GetValue(perShard)))
            {
                foreach (var s in samples)
                    writer.Add(s.ImagePath, s.Captions, s.Label);
                pattern = writer.Pattern;
                int captioned = samples.Count(s => s.Captions.Count > 0);
                ConsoleUi.Line(
                    $"wrote {writer.SampleCount} samples ({captioned} with captions) into {writer.ShardCount} shard(s)"
                );
            }
            foreach (var item in report.Items)
                ConsoleUi.Line($"skipped {item}");
            ConsoleUi.Line($"train_data: {pattern}");
            return 0;
        });
        return command;
    }

    static bool IsImageList(string path) => Path.GetExtension(path).Equals(".txt", StringComparison.OrdinalIgnoreCase);
}
