using System.Text.Json.Nodes;
using SemiClip.Model;
using SemiClip.Tests.Support;
using SemiClip.Training;
using static TorchSharp.torch;

namespace SemiClip.Tests.Model;

public class WeightInterpolationTests
{
    [Fact]
    public void EveryWeightIsTheConvexCombinationAndTheEndsAreTheModels()
    {
        using var seeded = new Generator(1);
        using var a = new ClipModel(TinySetup.Model(100), seeded);
        using var b = new ClipModel(TinySetup.Model(100), seeded);
        var wa = a.state_dict();
        var wb = b.state_dict();
        foreach (var alpha in new[] { 0.0, 0.3, 1.0 })
        {
            using var mixed = WeightInterpolation.Interpolate(a, b, alpha);
            foreach (var (name, w) in mixed.state_dict())
            {
                // Computed here element by element in double, independently of the library's tensor arithmetic.
                var x = wa[name].to(float64).data<double>().ToArray();
                var y = wb[name].to(float64).data<double>().ToArray();
                var z = w.to(float64).data<double>().ToArray();
                for (int i = 0; i < z.Length; i++)
                    Assert.True(Math.Abs((1 - alpha) * x[i] + alpha * y[i] - z[i]) < 1e-6, $"{name}[{i}]");
            }
        }
    }

    [Fact]
    public void DifferentArchitecturesAreRefused()
    {
        using var a = new ClipModel(TinySetup.Model(100));
        using var b = new ClipModel(TinySetup.Model(120));
        var e = Assert.Throws<ArgumentException>(() => WeightInterpolation.Interpolate(a, b, 0.5, "start", "tuned"));
        Assert.Contains("start and tuned have different architectures", e.Message);
    }

    [Fact]
    public void InterpolateWritesARunShapedFolderAndEvalSweepsAlphaAndRunFoldersStandAlone()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        foreach (var (run, steps) in new[] { ("a", 1), ("b", 3) })
        {
            var (code, output) = CliProcess.Run(
                new[] { "train", "--run-name", run, "--device", "cpu" }
                    .Concat(common.Append($"steps={steps}").SelectMany(o => new[] { "--set", o }))
                    .ToArray()
            );
            Assert.True(code == 0, output);
        }
        var (c1, o1) = CliProcess.Run(
            "interpolate",
            "--from",
            dir.File("runs/a"),
            "--to",
            dir.File("runs/b"),
            "--alpha",
            "0.5",
            "--out",
            dir.File("mid")
        );
        Assert.True(c1 == 0, o1);
        Assert.Equal(
            dir.File("runs/a/vocab/merges.txt"),
            JsonNode.Parse(File.ReadAllText(dir.File("mid/config.json")))!["vocab"]!.GetValue<string>()
        );
        Assert.Equal(File.ReadAllBytes(dir.File("merges.txt")), File.ReadAllBytes(dir.File("mid/vocab/merges.txt")));

        // Run folders stand alone: copied elsewhere, with the training vocabulary gone, they still load and search.
        var copy = dir.File("elsewhere/a");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(dir.File("runs/a"), "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(dir.File("runs/a"), file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        File.Move(dir.File("merges.txt"), dir.File("merges.moved"));
        using (var bundle = ModelBundle.Load(copy))
            Assert.Equal(bundle.Model.Config.Text.VocabSize, bundle.Tokenizer.VocabSize);
        var (c5, o5) = CliProcess.Run(
            "embed",
            "--model",
            copy,
            "--images",
            dir.File("data/test"),
            "--out",
            dir.File("index.safetensors"),
            "--device",
            "cpu"
        );
        Assert.True(c5 == 0, o5);
        var (c6, o6) = CliProcess.Run(
            "search",
            "a forest",
            "--index",
            dir.File("index.safetensors"),
            "--model",
            copy,
            "--top",
            "2",
            "--device",
            "cpu"
        );
        Assert.True(c6 == 0, o6);
        File.Move(dir.File("merges.moved"), dir.File("merges.txt"));

        var (c2, o2) = CliProcess.Run(
            "eval",
            "--model",
            dir.File("runs/a"),
            "--wise-to",
            dir.File("runs/b"),
            "--alphas",
            "0,0.5,1",
            "--classification",
            dir.File("data/test"),
            "--out",
            dir.File("sweep"),
            "--device",
            "cpu"
        );
        Assert.True(c2 == 0, o2);
        var rows = JsonNode.Parse(File.ReadAllText(dir.File("sweep/wise.json")))!.AsArray();
        Assert.Equal([0.0, 0.5, 1.0], rows.Select(r => r!["alpha"]!.GetValue<double>()));
        // The ends of the sweep are the two models themselves.
        var (c3, o3) = CliProcess.Run(
            "eval",
            "--model",
            dir.File("runs/b"),
            "--classification",
            dir.File("data/test"),
            "--out",
            dir.File("b-eval"),
            "--device",
            "cpu"
        );
        Assert.True(c3 == 0, o3);
        var bTop1 = JsonNode.Parse(File.ReadAllText(dir.File("b-eval/report.json")))!["zero_shot"]![
            "top1"
        ]!.GetValue<double>();
        Assert.Equal(bTop1, rows[2]!["zero_shot_top1"]!.GetValue<double>(), 6);
    }
}
