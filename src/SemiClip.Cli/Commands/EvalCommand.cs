using System.CommandLine;
using SemiClip.Cli.Ui;
using SemiClip.Data;
using SemiClip.Evaluation;
using SemiClip.Model;
using SemiClip.Runtime;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip eval</c>: zero-shot classification, retrieval and a linear probe; writes
/// report.json and report.md into the run folder (or --out).</summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Description = "run folder or .safetensors weights",
            Required = true,
        };
        var vocab = new Option<string?>("--vocab")
        {
            Description = "tokenizer vocabulary (default: the run's, else OpenAI's)",
        };
        var classification = new Option<string?>("--classification")
        {
            Description = "class folder tree, path,label CSV, or txtclasses folder",
        };
        var templates = new Option<string>("--templates")
        {
            Description = "remote-sensing | imagenet | a file with {} templates",
            DefaultValueFactory = _ => "remote-sensing",
        };
        var classNames = new Option<string?>("--class-names")
        {
            Description = "file of 'original: display name' lines",
        };
        var captions = new Option<string?>("--captions")
        {
            Description = "caption file for retrieval (its 'test' split for Karpathy JSON)",
        };
        var imageRoot = new Option<string?>("--image-root")
        {
            Description = "image root for caption or txtclasses files",
        };
        var probeTrain = new Option<string?>("--probe-train")
        {
            Description = "labelled training images for a linear probe",
        };
        var probeTest = new Option<string?>("--probe-test") { Description = "labelled test images for a linear probe" };
        var output = new Option<string?>("--out")
        {
            Description = "where report.json/.md go (default: the run folder)",
        };
        var skipBad = new Option<bool>("--skip-bad") { Description = "skip and list unreadable images" };
        var batch = new Option<int>("--batch-size")
        {
            DefaultValueFactory = _ => 256,
            Description = "images or texts encoded at once",
        }.AtLeast(1);
        var protocol = new Option<string>("--retrieval-protocol")
        {
            DefaultValueFactory = _ => "all-captions",
            Description =
                "all-captions (every caption, pessimistic ties) or one-caption (the reference's: one "
                + "caption per image drawn by --seed, diagonal ranks)",
        };
        var (imgKey, captionKey, separator) = CommonOptions.CsvColumns();
        var split = new Option<string>("--split")
        {
            Description = "Karpathy split of --captions to score",
            DefaultValueFactory = _ => "test",
        };
        var seed = new Option<int>("--seed")
        {
            Description = "which caption each image keeps under --retrieval-protocol one-caption",
        };
        var device = CommonOptions.Device();
        var activation = CommonOptions.Activation();
        var backend = OnnxBackend.Option();
        var threads = CommonOptions.Threads();
        var wiseTo = new Option<string?>("--wise-to")
        {
            Description =
                "sweep WiSE-FT: evaluate (1-a)*model + a*this "
                + "model (run folder or weights) for each --alphas value",
        };
        var alphas = new Option<string>("--alphas")
        {
            Description = "with --wise-to: comma-separated interpolation weights",
            DefaultValueFactory = _ => "0,0.25,0.5,0.75,1",
        };
        var cmd = new Command("eval", "Evaluate a model: zero-shot accuracy, retrieval recall, linear probe")
        {
            wiseTo,
            alphas,
            model,
            vocab,
            classification,
            templates,
            classNames,
            captions,
            imageRoot,
            probeTrain,
            probeTest,
            output,
            skipBad,
            batch,
            protocol,
            split,
            seed,
            imgKey,
            captionKey,
            separator,
            activation,
            backend,
            device,
            threads,
        };
        cmd.Validators.Add(r =>
        {
            if (r.GetValue(probeTrain) is null != r.GetValue(probeTest) is null)
                r.AddError("--probe-train and --probe-test go together.");
            if (r.GetValue(classNames) != null && r.GetValue(classification) is null)
                r.AddError("--class-names goes with --classification.");
            if (r.GetValue(backend) == "onnx" && r.GetValue(wiseTo) != null)
                r.AddError("--wise-to interpolates weights: it needs --backend torch.");
            if (r.GetValue(alphas) is { } a && r.GetResult(alphas) is { Implicit: false } && r.GetValue(wiseTo) is null)
                r.AddError($"--alphas {a} needs --wise-to.");
            if (r.GetValue(alphas) is { } given)
            {
                try
                {
                    WiseSweep.ParseAlphas(given); // refused before any model is read
                }
                catch (ArgumentException e)
                {
                    r.AddError(e.Message);
                }
            }
        });
        cmd.SetAction(p =>
        {
            CommonOptions.ApplyThreads(p.GetValue(threads));
            var modelPath = p.GetValue(model)!;
            var outFolder = p.GetValue(output)
                ?? (Directory.Exists(modelPath) ? modelPath : Path.GetDirectoryName(Path.GetFullPath(modelPath))!);
            CommonOptions.RequireWritableFolder(
                outFolder,
                p.GetValue(output) is null ? "the model's folder (set --out)" : "--out"
            );
            var dev = DeviceSelector.Parse(p.GetValue(device)!);
            using var encoder = ModelEncoder.Open(
                modelPath,
                p.GetValue(vocab),
                p.GetValue(activation)!,
                p.GetValue(backend)!,
                dev,
                p.GetValue(batch)
            );
            var bad = new BadInputReport(p.GetValue(skipBad) ? BadInputPolicy.Skip : BadInputPolicy.FailFast);
            EvaluationReport Evaluate(ModelBundle evaluated, string name) =>
                EvaluateWith(new EvaluationSuite(evaluated, dev, p.GetValue(batch)), name);
            EvaluationReport EvaluateWith(EvaluationSuite suite, string name)
            {
                var report = new EvaluationReport { Model = name };
                if (p.GetValue(classification) is { } cls)
                    report = report with
                    {
                        ZeroShot = suite.ZeroShot(
                            cls,
                            PromptTemplates.Load(p.GetValue(templates)!),
                            bad,
                            p.GetValue(imageRoot),
                            p.GetValue(classNames)
                        ),
                    };
                if (p.GetValue(captions) is { } caps)
                {
                    var chosen = p.GetValue(protocol) switch
                    {
                        "all-captions" => RetrievalProtocol.AllCaptions,
                        "one-caption" => RetrievalProtocol.OneCaptionPerImage,
                        var other => throw new ArgumentException(
                            $"--retrieval-protocol '{other}' is not all-captions or one-caption."
                        ),
                    };
                    report = report with
                    {
                        Retrieval = suite.Retrieval(
                            caps,
                            bad,
                            p.GetValue(imageRoot),
                            p.GetValue(split),
                            protocol: chosen,
                            seed: p.GetValue(seed),
                            csv: new CaptionDatasetOptions
                            {
                                ImageColumn = p.GetValue(imgKey) ?? "filepath",
                                CaptionColumn = p.GetValue(captionKey) ?? "title",
                                Separator = p.GetValue(separator) is { } sep ? CommonOptions.Separator(sep) : null,
                            }
                        ),
                    };
                }
                if (p.GetValue(probeTrain) is { } pt && p.GetValue(probeTest) is { } pe)
                    report = report with { LinearProbe = suite.LinearProbe(pt, pe, bad) };
                if (report.ZeroShot is null && report.Retrieval is null && report.LinearProbe is null)
                    throw new ArgumentException(
                        "nothing to evaluate: give --classification, --captions and/or --probe-train with --probe-test."
                    );
                return report;
            }
            if (p.GetValue(wiseTo) is { } target)
            {
                using var other = CommonOptions.LoadModel(target, p.GetValue(vocab), p.GetValue(activation)!);
                var sweep = WiseSweep.Run(
                    encoder.Bundle!,
                    other,
                    WiseSweep.ParseAlphas(p.GetValue(alphas)!),
                    modelPath,
                    target,
                    Evaluate
                );
                WiseSweep.Write(outFolder, sweep);
                ConsoleUi.Line($"WiSE-FT sweep: {Path.Combine(outFolder, "wise.md")}");
                return 0;
            }
            var report = EvaluateWith(new EvaluationSuite(encoder.Embedder), modelPath);
            report = report with { SkippedInputs = bad.Items.Select(b => b.ToString()).ToList() };
            ReportWriter.Write(outFolder, report);
            Print(report);
            ConsoleUi.Line($"report: {Path.Combine(outFolder, "report.md")}");
            return 0;
        });
        return cmd;
    }

    public static void Print(EvaluationReport r)
    {
        var rows = new List<string[]>();
        if (r.ZeroShot is { } z)
        {
            rows.Add(new[] { "zero-shot top-1", ReportWriter.Pct(z.Top1) });
            rows.Add(new[] { "zero-shot top-5", ReportWriter.Pct(z.Top5) });
        }
        if (r.Retrieval is { } t)
        {
            rows.Add(
                new[]
                {
                    "image→text R@1/5/10",
                    $"{ReportWriter.Pct(t.ImageToTextR1)} / {ReportWriter.Pct(t.ImageToTextR5)} / "
                        + $"{ReportWriter.Pct(t.ImageToTextR10)}",
                }
            );
            rows.Add(
                new[]
                {
                    "text→image R@1/5/10",
                    $"{ReportWriter.Pct(t.TextToImageR1)} / {ReportWriter.Pct(t.TextToImageR5)} / "
                        + $"{ReportWriter.Pct(t.TextToImageR10)}",
                }
            );
            rows.Add(new[] { $"mean recall ({t.Protocol})", ReportWriter.Pct(t.MeanRecall) });
        }
        if (r.LinearProbe is { } l)
            rows.Add(new[] { "linear probe accuracy", ReportWriter.Pct(l.TestAccuracy) });
        if (r.SkippedInputs.Count > 0)
            rows.Add(
                new[]
                {
                    "skipped inputs",
                    r.SkippedInputs.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                }
            );
        ConsoleUi.Table("evaluation (%)", ["metric", "value"], rows);
    }
}
