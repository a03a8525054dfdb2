using System.CommandLine;
using SemiClip.Cli.Ui;
using SemiClip.Synthetic;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip synth</c>: writes a synthetic domain (images in class folders, JSONL captions,
/// keywords).</summary>
public static class SynthCommand
{
    public static Command Create()
    {
        var domain = new Option<string>("--domain")
        {
            Description = "aerial (specialist) or tabletop (generic)",
            DefaultValueFactory = _ => "aerial",
        };
        var output = new Option<string>("--out") { Description = "output folder", Required = true };
        var train = new Option<int>("--train-per-class")
        {
            Description = "training images per class",
            DefaultValueFactory = _ => 100,
        }.AtLeast(1);
        var test = new Option<int>("--test-per-class")
        {
            Description = "test images per class",
            DefaultValueFactory = _ => 20,
        }.AtLeast(1);
        var size = new Option<int>("--size")
        {
            Description = "image side in pixels",
            DefaultValueFactory = _ => 64,
        }.AtLeast(8);
        var seed = new Option<int>("--seed") { Description = "generator seed", DefaultValueFactory = _ => 0 };
        var cmd = new Command("synth", "Generate a synthetic image-caption domain")
        {
            domain,
            output,
            train,
            test,
            size,
            seed,
        };
        cmd.SetAction(p =>
        {
            CommonOptions.RequireWritableFolder(p.GetValue(output)!, "--out");
            var d = p.GetValue(domain) switch
            {
                "aerial" => SyntheticDomain.Aerial,
                "tabletop" or "generic" => SyntheticDomain.Tabletop,
                var other => throw new ArgumentException($"--domain '{other}' is not aerial or tabletop."),
            };
            int n = SyntheticDataset.Generate(
                p.GetValue(output)!,
                new SyntheticDataset.Options
                {
                    Domain = d,
                    TrainPerClass = p.GetValue(train),
                    TestPerClass = p.GetValue(test),
                    ImageSize = p.GetValue(size),
                    Seed = p.GetValue(seed),
                }
            );
            ConsoleUi.Line(
                $"wrote {n} images with captions to {Path.GetFullPath(p.GetValue(output)!)} (train.jsonl, "
                    + $"test.jsonl, train/, test/, keywords.txt)"
            );
            return 0;
        });
        return cmd;
    }
}
