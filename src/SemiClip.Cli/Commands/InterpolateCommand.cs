using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SemiClip.Cli.Ui;
using SemiClip.IO;
using SemiClip.Model;
using SemiClip.Runs;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip interpolate</c>: writes the WiSE-FT model (1 − α)·A + α·B as a run-shaped folder
/// (model.safetensors plus the vocabulary A was trained with), usable wherever a run folder is.</summary>
public static class InterpolateCommand
{
    public static Command Create()
    {
        var from = new Option<string>("--from")
        {
            Required = true,
            Description = "model A (α = 0): run folder or weights, usually the pretrained start",
        };
        var to = new Option<string>("--to")
        {
            Required = true,
            Description = "model B (α = 1): run folder or weights, usually fine-tuned from A",
        };
        var alpha = new Option<double>("--alpha") { Required = true, Description = "weight of B in [0, 1], e.g. 0.5" };
        var extrapolate = new Option<bool>("--extrapolate")
        {
            Description = "allow --alpha outside [0, 1] (beyond A or B)",
        };
        var vocab = new Option<string?>("--vocab")
        {
            Description = "tokenizer vocabulary (default: A's run, else OpenAI's)",
        };
        var output = new Option<string>("--out")
        {
            Required = true,
            Description = "folder to write (model.safetensors, config.json, vocab/)",
        };
        var activation = CommonOptions.Activation();
        var overwrite = CommonOptions.Overwrite();
        var cmd = new Command(
            "interpolate",
            "Weight-space interpolation (WiSE-FT) between a model and its fine-tuned version"
        )
        {
            overwrite,
            from,
            to,
            alpha,
            extrapolate,
            vocab,
            output,
            activation,
        };
        cmd.Validators.Add(r =>
        {
            var a = r.GetValue(alpha);
            if (!double.IsFinite(a))
                r.AddError($"--alpha must be a number (got {a}).");
            else if ((a < 0 || a > 1) && !r.GetValue(extrapolate))
                r.AddError(
                    $"--alpha {a} is outside [0, 1] (0 is --from, 1 is --to); pass --extrapolate to go beyond them."
                );
        });
        cmd.SetAction(p =>
        {
            var folder = Path.GetFullPath(p.GetValue(output)!).TrimEnd(Path.DirectorySeparatorChar);
            CommonOptions.RequireWritableFolder(Path.GetDirectoryName(folder)!, "--out");
            using var writer = CommonOptions.LockOutput(folder, "--out");
            CommonOptions.RefuseExisting(folder, "--out", p.GetValue(overwrite));
            using var a = CommonOptions.LoadModel(p.GetValue(from)!, p.GetValue(vocab), p.GetValue(activation)!);
            using var b = CommonOptions.LoadModel(p.GetValue(to)!, p.GetValue(vocab), p.GetValue(activation)!);
            using var mixed = WeightInterpolation.Interpolate(
                a.Model,
                b.Model,
                p.GetValue(alpha),
                p.GetValue(from)!,
                p.GetValue(to)!
            );
            // Written beside --out and moved into place whole, so a failure leaves no half-made folder.
            StagedFolder.Write(
                folder,
                staging =>
                {
                    ClipCheckpoint.Save(mixed, Path.Combine(staging, "model.safetensors"));
                    var vocabulary = p.GetValue(vocab) ?? ModelBundle.RunVocabulary(p.GetValue(from)!) ?? "openai";
                    AtomicFile.WriteAllText(
                        Path.Combine(staging, "config.json"),
                        JsonSerializer.Serialize(
                            new
                            {
                                vocab = vocabulary,
                                interpolated_from = p.GetValue(from),
                                interpolated_to = p.GetValue(to),
                                alpha = p.GetValue(alpha),
                            },
                            new JsonSerializerOptions { WriteIndented = true }
                        )
                    );
                    ModelBundle.KeepVocabulary(vocabulary, staging);
                },
                makeRoom: target =>
                {
                    if (Directory.Exists(target) && !Directory.EnumerateFileSystemEntries(target).Any())
                        Directory.Delete(target);
                    else if (Directory.Exists(target))
                        RunFolder.MoveAside(target); // --overwrite: the old output is kept beside, never deleted
                }
            );
            ConsoleUi.Line(
                $"wrote {Path.Combine(folder, "model.safetensors")} (alpha "
                    + $"{p.GetValue(alpha).ToString(CultureInfo.InvariantCulture)})"
            );
            return 0;
        });
        return cmd;
    }
}
