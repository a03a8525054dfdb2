using SemiClip.Tests.Support;

namespace SemiClip.Tests.Cli;

/// <summary>A tiny dataset, a finished run and the bad files the cases below point at, made once for the
/// class.</summary>
public sealed class BadInputFixture : IDisposable
{
    public TempDir Dir { get; } = new();
    public List<string> Common { get; }

    public BadInputFixture()
    {
        Common = TinySetup.Write(Dir);
        var (code, output) = CliProcess.Run([
            "train",
            "--run-name",
            "done",
            .. Common.SelectMany(o => new[] { "--set", o }),
            "--set",
            "steps=1",
        ]);
        if (code != 0)
            throw new InvalidOperationException(output);
        System.IO.File.WriteAllText(Dir.File("broken.yaml"), "steps: 2\nmethod: [unclosed\n");
        System.IO.File.WriteAllText(Dir.File("twice.yaml"), "steps: 2\nbatch_size: 4\nsteps: 3\n");
        System.IO.File.WriteAllText(Dir.File("twice.json"), "{\n  \"steps\": 2,\n  \"steps\": 3\n}\n");
        System.IO.File.WriteAllText(Dir.File("typed.json"), "{\n  \"epochs\": \"two\"\n}\n");
        System.IO.File.WriteAllText(Dir.File("notes.txt"), "these are my notes, not weights\n");
        System.IO.File.WriteAllText(Dir.File("texts.txt"), "a river\n");
        System.IO.File.WriteAllText(
            Dir.File("nosplit.json"),
            "{\"images\": [{\"filename\": \"train/river/000.png\", \"split\": \"train\", "
                + "\"sentences\": [{\"raw\": \"a river\"}]}]}"
        );
    }

    public string File(string name) => Dir.File(name);

    public void Dispose() => Dir.Dispose();
}

/// <summary>Every kind of bad input a new user met, through the real CLI: a non-zero exit, a message that names the
/// field, option or file (and how to fix it), and no .NET or LibTorch exception text.</summary>
public class BadInputCliTests(BadInputFixture f) : IClassFixture<BadInputFixture>
{
    public static TheoryData<string, string[], string[]> Cases =>
        new()
        {
            {
                "unknown field",
                ["train", "--set", "batch_sise=3"],
                ["unknown config field 'batch_sise'", "did you mean batch_size?"]
            },
            {
                "field outside its section",
                ["train", "--set", "caption_weight=1"],
                ["did you mean loss.caption_weight?"]
            },
            {
                "wrong type",
                ["train", "--set", "batch_size=abc"],
                ["config field batch_size: \"abc\" is not a whole number"]
            },
            {
                "wrong type in a file",
                ["train", "--config", "{typed.json}"],
                ["typed.json", "config field epochs: \"two\" is not a whole number"]
            },
            {
                "YAML syntax",
                ["train", "--config", "{broken.yaml}"],
                ["broken.yaml:3: invalid YAML", "did not find expected ',' or ']'"]
            },
            {
                "YAML key twice",
                ["train", "--config", "{twice.yaml}"],
                ["twice.yaml:3: invalid YAML: field 'steps' is given twice"]
            },
            {
                "JSON key twice",
                ["train", "--config", "{twice.json}"],
                ["twice.json:3: invalid JSON: field 'steps' is given twice"]
            },
            {
                "all config errors at once",
                [
                    "train",
                    "--set",
                    "workers=0",
                    "--set",
                    "loss.sinkhorn_iterations=0",
                    "--set",
                    "threads=-1",
                    "--set",
                    "shuffle_buffer=0",
                ],
                [
                    "4 config problems",
                    "workers: must be at least 1",
                    "loss.sinkhorn_iterations: must be at least 1",
                    "threads: must be 0",
                    "shuffle_buffer: must be at least 1",
                ]
            },
            {
                "run name outside runs_dir",
                ["train", "--run-name", "../../escape"],
                ["run_name", "'../../escape' is not a plain folder name"]
            },
            { "threads option", ["train", "--threads", "-1"], ["--threads must be at least 0"] },
            {
                "resume of nothing",
                ["train", "--run-name", "never", "--resume"],
                ["does not exist: nothing to resume"]
            },
            {
                "allow-config-change without resume",
                ["train", "--allow-config-change"],
                ["--allow-config-change goes with --resume"]
            },
            { "resume and overwrite", ["train", "--resume", "--overwrite"], ["--resume and --overwrite contradict"] },
            {
                "unwritable runs_dir",
                ["train", "--runs-dir", "/proc/semiclip-runs"],
                ["runs_dir /proc/semiclip-runs: cannot write there"]
            },
            {
                "eval batch 0",
                ["eval", "--model", "{runs/done}", "--classification", "{data/test}", "--batch-size", "0"],
                ["--batch-size must be at least 1"]
            },
            {
                "Karpathy file without a test split",
                ["eval", "--model", "{runs/done}", "--captions", "{nosplit.json}", "--image-root", "{data}"],
                ["no images in split 'test' (splits present: train)"]
            },
            {
                "unwritable eval output",
                ["eval", "--model", "{runs/done}", "--classification", "{data/test}", "--out", "/proc/semiclip-out"],
                ["--out /proc/semiclip-out: cannot write there"]
            },
            {
                "search top -3",
                ["search", "river", "--index", "{x.safetensors}", "--model", "{runs/done}", "--top", "-3"],
                ["--top must be at least 1"]
            },
            { "text file as weights", ["info", "{notes.txt}"], ["notes.txt: not a safetensors file"] },
            {
                "text file as a model",
                ["eval", "--model", "{notes.txt}", "--classification", "{data/test}"],
                ["not a safetensors file"]
            },
            {
                "unwritable embed output",
                ["embed", "--model", "{runs/done}", "--images", "{data/test}", "--out", "/proc/semiclip/i.safetensors"],
                ["--out /proc/semiclip: cannot write there"]
            },
            {
                "embed images and texts",
                [
                    "embed",
                    "--model",
                    "{runs/done}",
                    "--images",
                    "{data/test}",
                    "--texts",
                    "{texts.txt}",
                    "--out",
                    "{i.safetensors}",
                ],
                ["--images and --texts make two indexes"]
            },
            {
                "interpolate alpha 7",
                ["interpolate", "--from", "{runs/done}", "--to", "{runs/done}", "--alpha", "7", "--out", "{mix}"],
                ["--alpha 7 is outside [0, 1]", "--extrapolate"]
            },
            {
                "synth negative count",
                ["synth", "--out", "{syn}", "--train-per-class", "-1"],
                ["--train-per-class must be at least 1"]
            },
            {
                "keywords top 0",
                ["keywords", "extract", "{data/train.jsonl}", "--top", "0"],
                ["--top must be at least 1"]
            },
            {
                "shard samples 0",
                ["shard", "{data/train.jsonl}", "--out", "{sh}", "--samples-per-shard", "0"],
                ["--samples-per-shard must be at least 1"]
            },
            { "demo steps 0", ["demo", "--adapt-steps", "0"], ["--adapt-steps must be at least 1"] },
            { "demo pretrain -1", ["demo", "--pretrain-steps", "-1"], ["--pretrain-steps must be at least 1"] },
            { "demo ratio 2", ["demo", "--label-ratio", "2"], ["--label-ratio must be in (0, 1] (got 2)"] },
            {
                "inspect ratio 0",
                ["data", "inspect", "{data/train.jsonl}", "--label-ratio", "0"],
                ["--label-ratio must be in (0, 1] (got 0)"]
            },
            {
                "serve ratio 1.5",
                ["serve", "--model", "{data/train.jsonl}", "--label-ratio", "1.5"],
                ["--label-ratio must be in (0, 1] (got 1.5)"]
            },
            {
                "bad image check",
                ["train", "--check-images", "some"],
                ["check_images: 'some' is not auto, headers, full or none"]
            },
        };

    [Theory]
    [MemberData(nameof(Cases))]
    public void IsRefusedInSemiClipsWords(string what, string[] args, string[] expected)
    {
        // Training cases get the fixture's data and model first, so only the bad part (given after them, so it wins) is
        // bad.
        var resolved = args.Select(a => a.StartsWith('{') && a.EndsWith('}') ? f.File(a[1..^1]) : a).ToList();
        if (resolved[0] == "train")
        {
            var fixture = f.Common.SelectMany(o => new[] { "--set", o }).ToList();
            if (!resolved.Contains("--run-name"))
                fixture.AddRange(["--run-name", "fresh"]);
            resolved.InsertRange(1, fixture);
        }
        var (code, output) = CliProcess.Run(resolved.ToArray());
        Assert.True(code != 0, $"{what}: exit 0\n{output}");
        foreach (var e in expected)
            Assert.True(output.Contains(e, StringComparison.Ordinal), $"{what}: '{e}' not in\n{output}");
        Assert.DoesNotContain("   at ", output);
        Assert.DoesNotContain("System.", output);
        Assert.DoesNotContain("Exception", output);
        Assert.False(Directory.Exists(f.File("runs/fresh")), $"{what}: a refused run left a run folder\n{output}");
    }

    [Fact]
    public void WarmupLongerThanTheRunIsAWarningNotAnError()
    {
        var (code, output) = CliProcess.Run([
            "train",
            "--run-name",
            "warm",
            .. f.Common.SelectMany(o => new[] { "--set", o }),
            "--set",
            "steps=2",
            "--set",
            "warmup_steps=50",
        ]);
        Assert.True(code == 0, output);
        Assert.Contains("warning: warmup_steps 50 is more than the run's 2 steps", output);
        Assert.Contains("\"warning\"", File.ReadAllText(f.File("runs/warm/metrics.jsonl")));
    }

    [Fact]
    public void UsageSaysSemiclip()
    {
        var (code, output) = CliProcess.Run("train", "--help");
        Assert.Equal(0, code);
        Assert.Contains("semiclip train [options]", output);
        Assert.DoesNotContain("SemiClip.Cli", output);
        foreach (
            var flag in new[]
            {
                "--image-root",
                "--steps",
                "--batch-size",
                "--keywords",
                "--pretrained",
                "--runs-dir",
                "--overwrite",
            }
        )
            Assert.Contains(flag, output);
    }

    [Fact]
    public void TheTrainFlagsAreAliasesOfTheirFields()
    {
        var (code, output) = CliProcess.Run([
            "train",
            .. f.Common.SelectMany(o => new[] { "--set", o }),
            "--print-config",
            "--steps",
            "7",
            "--batch-size",
            "6",
            "--image-root",
            f.File("data"),
            "--keywords",
            f.File("data/keywords.txt"),
            "--pretrained",
            f.File("runs/done"),
            "--runs-dir",
            f.File("elsewhere"),
            "--data",
            "C:\\data\\x.csv",
        ]);
        Assert.True(code == 0, output);
        Assert.Contains("steps = 7", output);
        Assert.Contains("batch_size = 6", output);
        Assert.Contains($"image_root = \"{f.File("data")}\"", output);
        Assert.Contains($"pretrained = \"{f.File("runs/done")}\"", output);
        Assert.Contains($"runs_dir = \"{f.File("elsewhere")}\"", output);
        Assert.Contains("train_data = \"C:\\\\data\\\\x.csv\"", output); // a Windows path stays the path typed
    }
}
