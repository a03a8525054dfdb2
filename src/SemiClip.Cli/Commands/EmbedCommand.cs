using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SemiClip.Cli.Ui;
using SemiClip.Data;
using SemiClip.Evaluation;
using SemiClip.IO;
using SemiClip.Model;
using SemiClip.Runtime;
using static TorchSharp.torch;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip embed</c> writes normalised embeddings (safetensors + a JSONL of ids);
/// <c>semiclip search</c> ranks an index against a text query by brute-force matrix product.</summary>
public static class EmbedCommand
{
    public static Command CreateEmbed()
    {
        var model = new Option<string>("--model") { Required = true, Description = "run folder or weights" };
        var vocab = new Option<string?>("--vocab")
        {
            Description = "tokenizer vocabulary (default: the run's, else OpenAI's)",
        };
        var images = new Option<string?>("--images") { Description = "image folder (recursive) or list file" };
        var texts = new Option<string?>("--texts") { Description = "text file, one text per line" };
        var output = new Option<string>("--out")
        {
            Required = true,
            Description = "index path (.safetensors); ids go to the same name .jsonl",
        };
        var batch = new Option<int>("--batch-size")
        {
            Description = "images or texts encoded at once",
            DefaultValueFactory = _ => 256,
        }.AtLeast(1);
        var shard = new Option<string?>("--shard")
        {
            Description =
                "i/n: embed only the i-th of n equal slices of the "
                + "sorted image list (0-based), as one job of an array",
        };
        var skipBad = new Option<bool>("--skip-bad")
        {
            Description = "leave unreadable images out of the index (listed) instead of stopping",
        };
        var backend = OnnxBackend.Option();
        var device = CommonOptions.Device();
        var activation = CommonOptions.Activation();
        var overwrite = CommonOptions.Overwrite();
        var cmd = new Command("embed", "Write image or text embeddings to a safetensors index")
        {
            overwrite,
            model,
            vocab,
            images,
            texts,
            output,
            batch,
            skipBad,
            shard,
            activation,
            backend,
            device,
        };
        cmd.Validators.Add(r =>
        {
            bool hasImages = r.GetValue(images) != null,
                hasTexts = r.GetValue(texts) != null;
            if (hasImages == hasTexts)
                r.AddError(
                    hasImages
                        ? "--images and --texts make two indexes: run embed once for each (with its own --out)."
                        : "give --images (an image folder or list) or --texts (a text file)."
                );
            if (hasTexts && r.GetValue(shard) != null)
                r.AddError("--shard slices an image list; it does not apply to --texts.");
        });
        cmd.SetAction(p =>
        {
            CommonOptions.RequireWritableFile(p.GetValue(output)!, "--out");
            using var writer = CommonOptions.LockOutput(p.GetValue(output)!, "--out");
            CommonOptions.RefuseExisting(p.GetValue(output)!, "--out", p.GetValue(overwrite));
            using var encoder = ModelEncoder.Open(
                p.GetValue(model)!,
                p.GetValue(vocab),
                p.GetValue(activation)!,
                p.GetValue(backend)!,
                DeviceSelector.Parse(p.GetValue(device)!),
                p.GetValue(batch)
            );
            var embedder = encoder.Embedder;
            var report = new BadInputReport(p.GetValue(skipBad) ? BadInputPolicy.Skip : BadInputPolicy.FailFast);
            List<string> ids;
            Tensor features;
            string kind;
            if (p.GetValue(images) is { } folder)
            {
                var all = ImageFiles.FromFolderOrList(folder, report);
                if (p.GetValue(shard) is { } slice)
                    all = Shard(all, slice);
                // Unreadable images (--skip-bad) stay out of the index rather than sitting in it as blanks.
                var (encoded, kept) = ConsoleUi.Progress("embedding images", all.Count, update =>
                    embedder.Readable(all, report, done => update(done, ""))
                );
                ids = kept.Select(i => all[i]).ToList();
                features = encoded;
                kind = "image";
            }
            else
            {
                var file = p.GetValue(texts)!;
                if (!File.Exists(file))
                    throw new FileNotFoundException($"--texts {file}: file not found.", file);
                ids = File.ReadAllLines(file).Where(l => l.Trim().Length > 0).ToList();
                features = embedder.EncodeTexts(ids);
                kind = "text";
            }
            if (ids.Count == 0)
                throw new InvalidDataException(
                    kind == "image"
                        ? $"--images {p.GetValue(images)}: no readable image to embed"
                            + (report.Count > 0 ? $" (all {report.Count} were skipped: {report.Items[0]})." : ".")
                        : $"--texts {p.GetValue(texts)}: no text to embed (every line is empty)."
                );
            var path = p.GetValue(output)!;
            SafeTensorsWriter.Write(
                path,
                new Dictionary<string, Tensor> { ["embeddings"] = features },
                new Dictionary<string, string>
                {
                    ["semiclip.kind"] = kind,
                    ["semiclip.model"] = p.GetValue(model)!,
                    [ImageIndexFile.ModelHashKey] = encoder.Fingerprint,
                }
            );
            AtomicFile.WriteAllText(
                Path.ChangeExtension(path, ".jsonl"),
                string.Concat(
                    ids.Select(
                        (id, i) =>
                            JsonSerializer.Serialize(
                                new
                                {
                                    index = i,
                                    id,
                                    kind,
                                }
                            ) + "\n"
                    )
                )
            );
            ConsoleUi.Line(
                $"wrote {ids.Count} {kind} embeddings of size {features.shape[1]} to "
                    + $"{path}{(report.Count > 0 ? $" ({report.Count} skipped)" : "")}"
            );
            foreach (var skipped in report.Items.Take(20))
                ConsoleUi.Line($"  skipped {skipped}");
            if (report.Count > 20)
                ConsoleUi.Line($"  … and {report.Count - 20} more");
            return 0;
        });
        return cmd;
    }

    /// <summary>The i-th of n contiguous slices of the image list in ordinal path order, so every job of an
    /// array sees the same partition and the slices together cover each image once.</summary>
    public static List<string> Shard(IReadOnlyList<string> paths, string spec)
    {
        var parts = spec.Split('/');
        if (
            parts.Length != 2
            || !int.TryParse(parts[0], out int i)
            || !int.TryParse(parts[1], out int n)
            || n < 1
            || i < 0
            || i >= n
        )
            throw new ArgumentException($"--shard '{spec}' is not i/n with 0 <= i < n.");
        var sorted = paths.Order(StringComparer.Ordinal).ToList();
        int from = (int)((long)sorted.Count * i / n),
            to = (int)((long)sorted.Count * (i + 1) / n);
        return sorted.GetRange(from, to - from);
    }

    public static Command CreateSearch()
    {
        var query = new Argument<string>("query") { Description = "text to search for" };
        var index = new Option<string[]>("--index")
        {
            Required = true,
            AllowMultipleArgumentsPerToken = true,
            Description =
                "safetensors index(es) from semiclip embed --images; several (e.g. the shards of embed --shard) are "
                + "searched as one",
        };
        var model = new Option<string>("--model")
        {
            Required = true,
            Description = "run folder or weights that made the index",
        };
        var vocab = new Option<string?>("--vocab")
        {
            Description = "tokenizer vocabulary (default: the run's, else OpenAI's)",
        };
        var top = new Option<int>("--top")
        {
            Description = "how many matches to print",
            DefaultValueFactory = _ => 10,
        }.AtLeast(1);
        var otherModel = new Option<bool>("--allow-other-model")
        {
            Description =
                "search an index made by a different model (its embeddings are in another space: rankings are "
                + "meaningless)",
        };
        var device = CommonOptions.Device();
        var activation = CommonOptions.Activation();
        var backend = OnnxBackend.Option();
        var cmd = new Command("search", "Find the images closest to a text query")
        {
            query,
            index,
            model,
            vocab,
            top,
            otherModel,
            activation,
            backend,
            device,
        };
        cmd.SetAction(p =>
        {
            var dev = DeviceSelector.Parse(p.GetValue(device)!);
            using var encoder = ModelEncoder.Open(
                p.GetValue(model)!,
                p.GetValue(vocab),
                p.GetValue(activation)!,
                p.GetValue(backend)!,
                dev,
                64
            );
            var fingerprint = encoder.Fingerprint;
            var parts = new List<Tensor>();
            var ids = new List<string>();
            foreach (var file in p.GetValue(index)!)
            {
                var read = ImageIndexFile.Read(
                    file,
                    fingerprint,
                    p.GetValue(otherModel),
                    ", or pass --allow-other-model"
                );
                parts.Add(read.Embeddings);
                ids.AddRange(read.Ids);
            }
            using var embeddings = cat(parts.ToArray(), 0).to(dev);
            foreach (var t in parts)
                t.Dispose();
            using var q = encoder.Embedder.EncodeTexts(new[] { p.GetValue(query)! }).to(dev);
            var (scores, indices) = IndexSearch.TopK(embeddings, q, p.GetValue(top));
            var inv = CultureInfo.InvariantCulture;
            ConsoleUi.Table(
                $"top {scores.Length} for \"{p.GetValue(query)}\"",
                ["rank", "score", "id"],
                scores.Select((s, i) => new[] { (i + 1).ToString(inv), s.ToString("F4", inv), ids[(int)indices[i]] })
            );
            return 0;
        });
        return cmd;
    }
}
