using System.CommandLine;
using System.Globalization;
using SemiClip.Cli.Ui;
using SemiClip.IO;
using SemiClip.Model;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip info &lt;weights&gt;</c>: the architecture SemiClip infers from a safetensors file.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var weights = new Argument<string>("weights")
        {
            Description =
                "a .safetensors file (OpenAI/open_clip or Hugging Face naming, or a training checkpoint) or a run "
                + "folder",
        };
        var activation = CommonOptions.Activation();
        var cmd = new Command("info", "Show the inferred architecture and parameter count of a weights file")
        {
            weights,
            activation,
        };
        cmd.SetAction(p =>
        {
            var path = Training.TrainConfigValidator.ResolveWeights(p.GetValue(weights)!, "weights");
            string naming;
            using (var r = new SafeTensorsReader(path))
                naming = HuggingFaceKeyMap.LooksLikeHuggingFace(r.Names) ? "Hugging Face" : "OpenAI / open_clip";
            using var model = ClipCheckpoint.Load(path, out var origin, activation: p.GetValue(activation)!);
            var c = model.Config;
            var inv = CultureInfo.InvariantCulture;
            ConsoleUi.Table(
                Path.GetFileName(path),
                ["field", "value"],
                new List<string[]>
                {
                    new[] { "naming", naming },
                    new[]
                    {
                        "vision tower",
                        c.Vision.IsResNet
                            ? $"ModifiedResNet layers [{string.Join(", ", c.Vision.ResNetLayers!)}], width "
                                + $"{c.Vision.Width}"
                            : $"ViT {c.Vision.Layers} layers, width {c.Vision.Width}, patch {c.Vision.PatchSize}, "
                                + $"heads {c.Vision.Heads}",
                    },
                    new[] { "image size", c.Vision.ImageSize.ToString(inv) },
                    new[]
                    {
                        "text tower",
                        $"{c.Text.Layers} layers, width {c.Text.Width}, heads {c.Text.Heads}, context "
                            + $"{c.Text.ContextLength}, vocab {c.Text.VocabSize}",
                    },
                    new[] { "embed dim", c.EmbedDim.ToString(inv) },
                    new[]
                    {
                        "activation",
                        origin.Assumed
                            ? $"{c.Activation} (assumed: nothing records it; --activation to override)"
                            : $"{c.Activation} (from {origin.Source})",
                    },
                    new[] { "parameters", model.ParameterCount().ToString("N0", inv) },
                }
            );
            return 0;
        });
        return cmd;
    }
}
