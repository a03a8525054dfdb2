using System.CommandLine;
using SemiClip.Cli.Ui;
using SemiClip.Serve;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip serve</c>: the browser pages over an adapted model (<see cref="ServeApp"/>), bound to this
/// machine only unless <c>--host</c> says otherwise; Ctrl-C stops it (every saved caption is already on
/// disk).</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Required = true,
            Description = "run folder or weights (a run folder also brings its data and curves)",
        };
        var vocab = new Option<string?>("--vocab")
        {
            Description = "tokenizer vocabulary (default: the run's, else OpenAI's)",
        };
        var captions = new Option<string?>("--captions")
        {
            Description =
                "the captioned images, any caption format train reads (default: the run's train_data and label_ratio)",
        };
        var imageRoot = new Option<string?>("--image-root")
        {
            Description = "folder the caption file's image paths are relative to",
        };
        var split = new Option<string?>("--split")
        {
            Description = "Karpathy JSON: the split to show (default: all its images)",
        };
        var labelRatio = new Option<double?>("--label-ratio")
        {
            Description =
                "keep this fraction of --captions captioned (the trainer's seeded split); the rest are shown unpaired",
        }.LabelRatio();
        var seed = new Option<int?>("--seed") { Description = "seed of that split (default: the run's, else 0)" };
        var images = new Option<string?>("--images")
        {
            Description = "more images (folder, recursive, or list file): searched, unpaired when not captioned",
        };
        var index = new Option<string?>("--index")
        {
            Description = "an embed --images index of this model, used instead of embedding again",
        };
        var save = new Option<string?>("--save-captions")
        {
            Description = "JSONL file Caption next appends to (default: --captions when it is .jsonl)",
        };
        var classes = new Option<string?>("--classes")
        {
            Description = "zero-shot classes: a file (one per line) or a,b,c (default: the caption file's labels)",
        };
        var templates = new Option<string>("--templates")
        {
            Description = "remote-sensing | imagenet | a file with {} templates",
            DefaultValueFactory = _ => "remote-sensing",
        };
        var keywords = new Option<string?>("--keywords")
        {
            Description = "keyword list for the keyword candidates (default: the run's)",
        };
        var host = new Option<string>("--host")
        {
            Description = "address to listen on (127.0.0.1: this machine only)",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var port = new Option<int>("--port")
        {
            Description = "port (0: any free one)",
            DefaultValueFactory = _ => 7860,
        }.Between(0, 65535);
        var maxUpload = new Option<int>("--max-upload-mb")
        {
            Description = "largest image upload accepted",
            DefaultValueFactory = _ => 8,
        }.AtLeast(1);
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var activation = CommonOptions.Activation();
        var cmd = new Command(
            "serve",
            "Browse an adapted model: search, S-CLIP's pseudo-labels, caption the next images, training curves"
        )
        {
            model,
            vocab,
            captions,
            imageRoot,
            split,
            labelRatio,
            seed,
            images,
            index,
            save,
            classes,
            templates,
            keywords,
            host,
            port,
            maxUpload,
            activation,
            device,
            threads,
        };
        cmd.SetAction(
            async (p, token) =>
            {
                CommonOptions.ApplyThreads(p.GetValue(threads));
                if (p.GetValue(save) is { } file && !file.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
                    throw new ArgumentException(
                        $"--save-captions {file}: captions are saved as JSON Lines; name a .jsonl file."
                    );
                var options = new ServeOptions
                {
                    Model = p.GetValue(model)!,
                    Vocab = p.GetValue(vocab),
                    Activation = p.GetValue(activation)!,
                    Captions = p.GetValue(captions),
                    ImageRoot = p.GetValue(imageRoot),
                    Split = p.GetValue(split),
                    LabelRatio = p.GetValue(labelRatio),
                    Seed = p.GetValue(seed),
                    Images = p.GetValue(images),
                    Index = p.GetValue(index),
                    SaveCaptions = p.GetValue(save),
                    Classes = p.GetValue(classes),
                    Templates = p.GetValue(templates)!,
                    Keywords = p.GetValue(keywords),
                    Host = p.GetValue(host)!,
                    Port = p.GetValue(port),
                    MaxUploadBytes = (long)p.GetValue(maxUpload) << 20,
                    Device = p.GetValue(device)!,
                };
                await using var server = await ServeApp.StartAsync(options);
                ConsoleUi.Line(
                    $"serving on {server.Address} (Ctrl-C stops; pages: / search, /pseudo, /caption, /runs)"
                );
                var stopped = Task.Delay(Timeout.Infinite, token);
                await Task.WhenAny(server.Loaded, stopped);
                if (server.Loaded.IsCompleted)
                {
                    // A server whose model or collection failed to load would only show error pages: it stops, and
                    // a script that started it sees the failure.
                    if (server.State.Error is { } error)
                        throw new InvalidOperationException($"loading failed: {error}");
                    ConsoleUi.Line($"ready: {server.State.Collection!.Images.Count} images");
                    try
                    {
                        await stopped;
                    }
                    catch (OperationCanceledException) { }
                }
                ConsoleUi.Line("stopped");
                return 0;
            }
        );
        return cmd;
    }
}
