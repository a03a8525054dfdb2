using SemiClip.Data;
using SemiClip.IO;
using SemiClip.Tests.Support;
using TorchSharp;

namespace SemiClip.Tests.Cli;

/// <summary>User input that used to reach the "this is a bug" path or pass silently, each through the real
/// CLI.</summary>
public class SmallDefectsTests
{
    [Fact]
    public void EmptyIndexesAndOutOfRangePortsAreRefusedByName()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var model = CliProcess.TrainTiny(dir, common);
        int code;
        string output;

        // embed of a folder with no images writes nothing and says so.
        Directory.CreateDirectory(dir.File("empty"));
        (code, output) = CliProcess.Run(
            "embed", "--model", model, "--images", dir.File("empty"), "--out", dir.File("empty.safetensors")
        );
        Assert.NotEqual(0, code);
        Assert.DoesNotContain("this is a bug", output);
        Assert.False(File.Exists(dir.File("empty.safetensors")));

        // An empty index made by hand (or by an older SemiClip) is refused at search.
        SafeTensorsWriter.Write(
            dir.File("hand.safetensors"),
            new Dictionary<string, torch.Tensor> { ["embeddings"] = torch.zeros(0, 16) },
            new Dictionary<string, string> { ["semiclip.kind"] = "image" }
        );
        File.WriteAllText(dir.File("hand.jsonl"), "");
        (code, output) = CliProcess.Run(
            "search", "a river", "--model", model, "--index", dir.File("hand.safetensors"), "--allow-other-model"
        );
        Assert.NotEqual(0, code);
        Assert.Contains("the index is empty", output);
        Assert.DoesNotContain("this is a bug", output);

        (code, output) = CliProcess.Run("eval", "--model", model, "--wise-to", model, "--alphas", "0,7");
        Assert.NotEqual(0, code);
        Assert.Contains("--alphas: 7 is outside [0, 1]", output);

        (code, output) = CliProcess.Run("serve", "--model", model, "--port", "70000");
        Assert.NotEqual(0, code);
        Assert.Contains("--port must be in [0, 65535] (got 70000)", output);
    }

    [Fact]
    public void InterpolateAndEmbedRefuseAnExistingOutputAndAFailureLeavesNone()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var model = CliProcess.TrainTiny(dir, common);
        int code;
        string output;
        string[] Interpolate(string to, params string[] extra) =>
            ["interpolate", "--from", model, "--to", to, "--alpha", "0.5", "--out", dir.File("mixed"), .. extra];

        (code, output) = CliProcess.Run(Interpolate(dir.File("no-such-run")));
        Assert.NotEqual(0, code);
        Assert.False(Directory.Exists(dir.File("mixed")), "a failed interpolate left its output folder");
        Assert.Empty(Directory.GetDirectories(dir.Path, "mixed.partial-*"));

        (code, output) = CliProcess.Run(Interpolate(model));
        Assert.True(code == 0, output);
        var first = File.ReadAllBytes(dir.File("mixed/model.safetensors"));
        (code, output) = CliProcess.Run(Interpolate(model));
        Assert.NotEqual(0, code);
        Assert.Contains("already exists; pass --overwrite", output);
        (code, output) = CliProcess.Run(Interpolate(model, "--overwrite"));
        Assert.True(code == 0, output);
        var aside = Assert.Single(Directory.GetDirectories(dir.Path, "mixed.replaced-*"));
        Assert.Equal(first, File.ReadAllBytes(Path.Combine(aside, "model.safetensors")));

        string[] embed =
        [
            "embed", "--model", model, "--texts", dir.File("data/keywords.txt"), "--out", dir.File("t.st"),
        ];
        (code, output) = CliProcess.Run(embed);
        Assert.True(code == 0, output);
        (code, output) = CliProcess.Run(embed);
        Assert.NotEqual(0, code);
        Assert.Contains("already exists; pass --overwrite", output);
        (code, output) = CliProcess.Run([.. embed, "--overwrite"]);
        Assert.True(code == 0, output);
    }

    [Fact]
    public void ServeExitsNonZeroWhenItsModelFailsToLoad()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("images"));
        TestImages.Png(dir.File("images/a.png"));
        File.WriteAllText(dir.File("broken.safetensors"), "not weights");
        var (code, output) = CliProcess.Run(
            "serve", "--model", dir.File("broken.safetensors"), "--images", dir.File("images"), "--port", "0"
        );
        Assert.NotEqual(0, code);
        Assert.Contains("loading failed", output);
        Assert.Contains("broken.safetensors", output);
        Assert.DoesNotContain("this is a bug", output);
    }

    [Fact]
    public void EachProblemGetsTheHintOfItsOwnFieldAndOnlyFlagsTheCommandHas()
    {
        // The hint comes from the problem's field, never from the words: "device" in a message is not the field.
        Assert.Equal(
            "Could not write: No space left on device",
            SemiClip.Cli.FlagHints.Describe(new IOException("Could not write: No space left on device"))
        );
        var twoFields = new SettingsException(
            [
                SettingProblem.Of("device", "'cudax' is not a device"),
                SettingProblem.Of("skip_bad", "was false, now true"),
            ]
        );
        var lines = SemiClip.Cli.FlagHints.Describe(twoFields).Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Contains("config field device", lines[1]);
        Assert.Contains("--device", lines[1]);
        Assert.DoesNotContain("--skip-bad", lines[1]);
        Assert.Contains("--skip-bad", lines[2]);
        Assert.DoesNotContain("--device", lines[2]);

        // A problem on a config file's line is fixed there: no flag hint.
        var inFile = new SettingsException(
            SettingProblem.Of("device", "'cudax' is not a device") with
            {
                Location = "t.yaml:3",
            }
        );
        Assert.Equal(
            "t.yaml:3: config field device: 'cudax' is not a device.",
            SemiClip.Cli.FlagHints.Describe(inFile)
        );

        // A command without --set (search, eval) is not told to use it; a field it has no flag for gets no hint.
        string[] search = ["--model", "--index", "--vocab"];
        var vocab = SemiClip.Cli.FlagHints.Describe(
            new SettingsException(SettingProblem.Of("vocab", "merges.txt not found")),
            search
        );
        Assert.EndsWith("[on the command line: --vocab]", vocab);
        var skip = new SettingsException(SettingProblem.Of("skip_bad", "was false"));
        Assert.Equal("config field skip_bad: was false.", SemiClip.Cli.FlagHints.Describe(skip, search));

        // A bad input's fix is skip_bad, whichever words its message has.
        Assert.Contains(
            "--skip-bad",
            SemiClip.Cli.FlagHints.Describe(new BadInputException(new BadInput("a.csv:3", "no captions.")))
        );
    }

    [Fact]
    public void FileSystemFailuresAreSaidAsPathAndReasonNotInDotNetsWords()
    {
        // Thrown by .NET itself (not SemiClip): the path once, then the reason in a few words.
        Assert.Equal(
            "/mnt/ro/out.json: read-only file system.",
            SemiClip.Cli.Program.UserMessage(new IOException("Read-only file system : '/mnt/ro/out.json'"))
        );
        using var dir = new TempDir();
        var missing = Assert.ThrowsAny<IOException>(() => File.ReadAllBytes(dir.File("gone.bin")));
        Assert.Equal($"{dir.File("gone.bin")}: not found.", SemiClip.Cli.Program.UserMessage(missing));
        var denied = new UnauthorizedAccessException($"Access to the path '{dir.File("x")}' is denied.");
        Assert.Equal($"{dir.File("x")}: permission denied.", SemiClip.Cli.Program.UserMessage(denied));

        // A folder that cannot be made: no "Could not find file" about a probe file the user never named.
        var e = Assert.Throws<ArgumentException>(() => WritableFolder.Require("/proc/semiclip-out", "--out"));
        Assert.StartsWith("--out /proc/semiclip-out: cannot write there (", e.Message);
        Assert.DoesNotContain("Could not find", e.Message);
        Assert.DoesNotContain("write-check", e.Message);
    }

    [Fact]
    public void EveryHintedFlagIsAFlagOfSomeCommand()
    {
        var flags = SemiClip.Cli.Program.BuildRoot()
            .Subcommands.SelectMany(c => c.Subcommands.Append(c))
            .SelectMany(c => c.Options.Select(o => o.Name))
            .ToHashSet();
        foreach (var (_, flag) in SemiClip.Cli.FlagHints.Map)
            Assert.Contains(flag, flags);
    }
}
