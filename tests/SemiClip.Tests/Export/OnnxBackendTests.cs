extern alias onnx;
using System.Text.Json;
using SemiClip.Model;
using SemiClip.Tests.Support;
using static TorchSharp.torch;
using OnnxClip = onnx::SemiClip.Onnx.OnnxClip;

namespace SemiClip.Tests.Export;

/// <summary>An exported folder used without LibTorch: SemiClip.Onnx's embeddings equal the run's, and the CLI's
/// <c>--backend onnx</c> embeds, searches and evaluates with it, interchangeably with the TorchSharp model.</summary>
public class OnnxBackendTests(TrainedRunFixture f) : IClassFixture<TrainedRunFixture>
{
    string Exported()
    {
        var dir = f.Dir.File("deploy");
        if (!Directory.Exists(dir))
        {
            var (code, output) = CliProcess.Run("export", "--model", f.Run, "--format", "onnx", "--out", dir);
            Assert.True(code == 0, output);
        }
        return dir;
    }

    static double MaxDifference(float[][] a, float[] b) => a.SelectMany(r => r).Zip(b, (x, y) => Math.Abs(x - y)).Max();

    [Fact]
    public void SemiClipOnnxEmbedsLikeTheRun()
    {
        using var clip = OnnxClip.Load(Exported());
        using var bundle = ModelBundle.Load(f.Run);
        var embedder = new SemiClip.Evaluation.Embedder(bundle.Model, bundle.Tokenizer, CPU, 8, 1);
        string[] texts = ["a river with green banks", "an airport seen from above, 2 runways!"];
        using (var expected = embedder.EncodeTexts(texts))
            Assert.True(MaxDifference(clip.EmbedTexts(texts), expected.data<float>().ToArray()) < 1e-4);
        var images = Directory
            .GetFiles(f.Dir.File("data/test"), "*.png", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Take(5)
            .ToList();
        using (var expected = embedder.EncodeImages(images))
            Assert.True(
                MaxDifference(clip.EmbedImages(images)!.Select(r => r!).ToArray(), expected.data<float>().ToArray())
                    < 1e-4
            );
        Assert.Equal("squash", clip.Images.Preprocessing.ResizeMode); // the run's recorded preprocessing came along
    }

    [Fact]
    public void TheCliBackendsAreInterchangeable()
    {
        var exported = Exported();
        var index = f.Dir.File("onnx-index.safetensors");
        var (code, output) = CliProcess.Run(
            "embed",
            "--backend",
            "onnx",
            "--model",
            exported,
            "--images",
            f.Dir.File("data/test"),
            "--out",
            index
        );
        Assert.True(code == 0, output);
        // Made by ONNX Runtime, searched with the TorchSharp model it was exported from: the same fingerprint.
        (code, output) = CliProcess.Run("search", "a river", "--index", index, "--model", f.Run, "--top", "3");
        Assert.True(code == 0, output);
        var (onnxCode, onnxOutput) = CliProcess.Run(
            "search",
            "a river",
            "--index",
            index,
            "--model",
            exported,
            "--backend",
            "onnx",
            "--top",
            "3"
        );
        Assert.True(onnxCode == 0, onnxOutput);
        Assert.Equal(3, Ranked(output).Count);
        Assert.Equal(Ranked(output), Ranked(onnxOutput));

        string Top1(string o) => o.Split('\n').First(l => l.StartsWith("zero-shot top-1", StringComparison.Ordinal));
        (code, output) = CliProcess.Run(
            "eval",
            "--model",
            f.Run,
            "--classification",
            f.Dir.File("data/test"),
            "--out",
            f.Dir.File("e1")
        );
        Assert.True(code == 0, output);
        (onnxCode, onnxOutput) = CliProcess.Run(
            "eval",
            "--backend",
            "onnx",
            "--model",
            exported,
            "--classification",
            f.Dir.File("data/test"),
            "--out",
            f.Dir.File("e2")
        );
        Assert.True(onnxCode == 0, onnxOutput);
        Assert.Equal(Top1(output), Top1(onnxOutput));
    }

    /// <summary>The ids a search printed, in rank order.</summary>
    static List<string> Ranked(string output) =>
        output
            .Split('\n')
            .Where(l => l.Contains(".png", StringComparison.Ordinal))
            .Select(l => l.Trim().Split("  ", StringSplitOptions.RemoveEmptyEntries)[^1])
            .ToList();
}
