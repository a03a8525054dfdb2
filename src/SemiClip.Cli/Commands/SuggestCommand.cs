using System.CommandLine;
using System.Globalization;
using CsvHelper;
using SemiClip.Cli.Ui;
using SemiClip.Curation;
using SemiClip.Data;
using SemiClip.Evaluation;
using SemiClip.Model;
using SemiClip.Runtime;
using static TorchSharp.torch;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip suggest</c>: which unpaired images to caption next (<see cref="CaptionSuggester"/>), as a CSV a
/// person works through: rank, path, score and its parts, the nearest captioned image and one of its
/// captions.</summary>
public static class SuggestCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Required = true, Description = "run folder or weights" };
        var vocab = new Option<string?>("--vocab")
        {
            Description = "tokenizer vocabulary (default: the run's, else OpenAI's)",
        };
        var captions = new Option<string>("--captions")
        {
            Required = true,
            Description = "the captioned images: any caption format train reads",
        };
        var imageRoot = new Option<string?>("--image-root")
        {
            Description = "folder the caption file's image paths are relative to",
        };
        var split = new Option<string?>("--split")
        {
            Description = "Karpathy JSON: the split whose images count as captioned",
        };
        var images = new Option<string>("--images")
        {
            Required = true,
            Description = "the unpaired images: folder (recursive) or list file",
        };
        var top = new Option<int>("--top")
        {
            Description = "how many images to suggest",
            DefaultValueFactory = _ => 100,
        };
        var diversity = new Option<double>("--diversity")
        {
            Description = "penalty per unit cosine to an image already suggested (0: rank by score alone)",
            DefaultValueFactory = _ => 0.5,
        };
        var output = new Option<string>("--out") { Required = true, Description = "CSV to write" };
        var skipBad = new Option<bool>("--skip-bad")
        {
            Description = "leave unreadable images out (listed) instead of stopping",
        };
        var (imgKey, captionKey, separator) = CommonOptions.CsvColumns();
        var device = CommonOptions.Device();
        var activation = CommonOptions.Activation();
        var cmd = new Command(
            "suggest",
            "Rank unpaired images by how much a caption would help, for the next round of captioning"
        )
        {
            model,
            vocab,
            captions,
            imageRoot,
            split,
            images,
            top,
            diversity,
            output,
            skipBad,
            imgKey,
            captionKey,
            separator,
            activation,
            device,
        };
        cmd.SetAction(p =>
        {
            var report = new BadInputReport(p.GetValue(skipBad) ? BadInputPolicy.Skip : BadInputPolicy.FailFast);
            var options = new CaptionDatasetOptions
            {
                ImageRoot = p.GetValue(imageRoot),
                Split = p.GetValue(split),
                ImageColumn = p.GetValue(imgKey) ?? "filepath",
                CaptionColumn = p.GetValue(captionKey) ?? "title",
                Separator = p.GetValue(separator) is { } sep ? CommonOptions.Separator(sep) : null,
            };
            var paired = CaptionDatasetReader.Read(p.GetValue(captions)!, options, report);
            var pairedPaths = paired.Select(s => Path.GetFullPath(s.ImagePath)).ToHashSet();
            var candidates = ImageFiles
                .FromFolderOrList(p.GetValue(images)!, report)
                .Where(f => !pairedPaths.Contains(Path.GetFullPath(f)))
                .ToList();
            if (candidates.Count == 0)
                throw new ArgumentException(
                    $"{p.GetValue(images)}: no unpaired images left once the captioned ones are set aside."
                );

            using var bundle = CommonOptions.LoadModel(p.GetValue(model)!, p.GetValue(vocab), p.GetValue(activation)!);
            var embedder = new Embedder(bundle.Model, bundle.Tokenizer, DeviceSelector.Parse(p.GetValue(device)!));
            using var scope = NewDisposeScope();
            var (pairedFeatures, pairedKept) = ConsoleUi.Progress("embedding captioned images", paired.Count, update =>
                embedder.Readable(paired.Select(s => s.ImagePath).ToList(), report, done => update(done, ""))
            );
            var (unpairedFeatures, unpairedKept) = ConsoleUi.Progress(
                "embedding unpaired images",
                candidates.Count,
                update => embedder.Readable(candidates, report, done => update(done, ""))
            );
            double scale = bundle.Model.LogitScale();
            var ranked = CaptionSuggester.Rank(
                pairedFeatures,
                unpairedFeatures,
                scale,
                p.GetValue(top),
                p.GetValue(diversity)
            );

            var path = p.GetValue(output)!;
            var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
            Directory.CreateDirectory(dir);
            using (var writer = new StringWriter(CultureInfo.InvariantCulture))
            {
                using var csv = new CsvWriter(writer, CultureInfo.InvariantCulture);
                csv.WriteRecords(
                    ranked.Select(
                        (s, i) =>
                        {
                            var nearest = paired[pairedKept[s.NearestPaired]];
                            return new
                            {
                                rank = i + 1,
                                path = candidates[unpairedKept[s.Index]],
                                score = Math.Round(s.Score, 4),
                                uncertainty = Math.Round(s.Uncertainty, 4),
                                novelty = Math.Round(s.Novelty, 4),
                                nearest_captioned = nearest.ImagePath,
                                nearest_caption = nearest.Captions[0],
                            };
                        }
                    )
                );
                csv.Flush();
                IO.AtomicFile.WriteAllText(path, writer.ToString());
            }
            ConsoleUi.Line(
                $"wrote {ranked.Count} suggestions to {path} ({candidates.Count} unpaired, {paired.Count} captioned "
                    + $"images)"
            );
            return 0;
        });
        return cmd;
    }
}
