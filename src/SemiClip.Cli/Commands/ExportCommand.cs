using System.CommandLine;
using SemiClip.Cli.Ui;
using SemiClip.Export;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip export</c>: a trained model (with its tokenizer and preprocessing) into a folder ONNX Runtime,
/// Hugging Face or open_clip loads.</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Required = true,
            Description = "run folder, weights file or training checkpoint",
        };
        var format = new Option<string>("--format")
        {
            Required = true,
            Description =
                "onnx (text_model.onnx + vision_model.onnx + tokenizer, the Xenova layout) | hf (CLIPModel "
                + "folder, ONNX pair in onnx/) | open_clip (open_clip_config.json + weights, for "
                + "create_model(\"local-dir:DIR\"))",
        }.OneOf("onnx", "hf", "open_clip");
        var output = new Option<string>("--out")
        {
            Required = true,
            Description = "a folder that does not exist yet (or is empty)",
        };
        var dtype = new Option<string>("--dtype")
        {
            Description = "ONNX weights: fp32, or fp16 (half the file; computation stays float32)",
            DefaultValueFactory = _ => "fp32",
        }.OneOf("fp32", "fp16");
        var vocab = new Option<string?>("--vocab")
        {
            Description = "tokenizer vocabulary (default: the run's, else OpenAI's)",
        };
        var activation = CommonOptions.Activation();
        var cmd = new Command("export", "Write a model for ONNX Runtime, Hugging Face or open_clip")
        {
            model,
            format,
            output,
            dtype,
            vocab,
            activation,
        };
        cmd.Validators.Add(r =>
        {
            if (r.GetValue(format) == "open_clip" && r.GetValue(dtype) == "fp16")
                r.AddError("--dtype fp16 applies to ONNX files (onnx, hf).");
        });
        cmd.SetAction(p =>
        {
            var outDir = p.GetValue(output)!;
            var parent = Path.GetDirectoryName(Path.GetFullPath(outDir))!;
            CommonOptions.RequireWritableFolder(parent, "--out");
            using var writer = CommonOptions.LockOutput(outDir, "--out");
            using var bundle = CommonOptions.LoadModel(p.GetValue(model)!, p.GetValue(vocab), p.GetValue(activation)!);
            var files = ModelExport.Write(
                bundle,
                ModelExport.ParseFormat(p.GetValue(format)!),
                outDir,
                p.GetValue(dtype) == "fp16"
            );
            ConsoleUi.Line($"wrote {files.Count} files to {Path.GetFullPath(outDir)}: {string.Join(", ", files)}");
            return 0;
        });
        return cmd;
    }
}
