using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SemiClip.IO;
using SemiClip.Tests.Support;

namespace SemiClip.Tests.Cli;

/// <summary>One writer per run folder and per output, through real CLI processes: a second writer is refused at once
/// naming the first, <c>--overwrite</c> and <c>--resume</c> never touch a live run, and a killed writer's lock is gone
/// with it.</summary>
public class OneWriterTests
{
    static string[] Train(List<string> common, string run, params string[] extra) =>
        new[] { "train", "--run-name", run }
            .Concat(common.Concat(extra).SelectMany(o => new[] { "--set", o }))
            .ToArray();

    static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>A CLI child whose output is collected as it comes.</summary>
    sealed class Child : IDisposable
    {
        readonly StringBuilder _output = new();
        public Process Process { get; }

        public Child(params string[] args)
        {
            Process = CliProcess.Start(Append, args);
        }

        void Append(string? line)
        {
            lock (_output)
                _output.AppendLine(line);
        }

        public string Output
        {
            get
            {
                lock (_output)
                    return _output.ToString();
            }
        }

        public int Wait()
        {
            Assert.True(Process.WaitForExit(TimeSpan.FromMinutes(3)), "the CLI did not end: " + Output);
            Process.WaitForExit(); // drains the output events
            return Process.ExitCode;
        }

        public void Dispose()
        {
            if (!Process.HasExited)
                Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }

    static void WaitForATrainingStep(Child c, string metrics)
    {
        var clock = Stopwatch.StartNew();
        while (!(File.Exists(metrics) && File.ReadAllText(metrics).Contains("\"kind\":\"train\"")))
        {
            Assert.False(c.Process.HasExited, "training ended before the test could race it: " + c.Output);
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), "no training step within 2 minutes: " + c.Output);
            Thread.Sleep(100);
        }
    }

    /// <summary>Every metrics line is whole JSON (two writers interleaving, or one cut by the other, would break
    /// one).</summary>
    static void MetricsAreWhole(string metrics)
    {
        foreach (var line in File.ReadAllLines(metrics))
            JsonDocument.Parse(line).Dispose();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TwoTrainsStartedTogetherOnOneNameOneRunsAndTheOtherIsRefused(bool secondFirst)
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var settingsA = Train(common, "same", "steps=6", "seed=1");
        var settingsB = Train(common, "same", "steps=6", "seed=2");
        using var a = secondFirst ? null : new Child(settingsA);
        using var b = new Child(settingsB);
        using var a2 = secondFirst ? new Child(settingsA) : null;
        var first = a ?? a2!;
        int codeA = first.Wait(),
            codeB = b.Wait();

        // Exactly one ran; the other was refused with who holds the run, and nothing of it was written.
        Assert.True((codeA == 0) != (codeB == 0), $"A: {codeA} {first.Output}\nB: {codeB} {b.Output}");
        var (winner, loser) = codeA == 0 ? (first, b) : (b, first);
        Assert.Contains("run same is still being written", loser.Output);
        Assert.Contains($"PID {winner.Process.Id}", loser.Output);
        Assert.DoesNotContain("moved the existing run folder aside", loser.Output + winner.Output);
        Assert.Empty(Directory.GetDirectories(dir.File("runs"), "same.replaced-*"));
        MetricsAreWhole(dir.File("runs/same/metrics.jsonl"));
        var seed = JsonDocument.Parse(File.ReadAllText(dir.File("runs/same/config.json"))).RootElement;
        Assert.Equal(winner == b ? 2 : 1, seed.GetProperty("seed").GetInt32());
        Assert.True(File.Exists(dir.File("runs/same/model.safetensors")));
    }

    [Fact]
    public void OverwriteAndResumeRefuseALiveRunWhichFinishesIntactAndAKilledRunsNameIsFreeAtOnce()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var metrics = dir.File("runs/live/metrics.jsonl");
        using (var live = new Child(Train(common, "live", "steps=100000", "checkpoint_every=100000")))
        {
            WaitForATrainingStep(live, metrics);
            foreach (var (flag, reason) in new[]
                     {
                         ("--overwrite", "--overwrite never moves a live run aside"),
                         ("--resume", "--resume continues a run only once it has stopped"),
                     })
            {
                var (code, output) = CliProcess.Run(Train(common, "live", "steps=3").Append(flag).ToArray());
                Assert.NotEqual(0, code);
                Assert.Contains($"PID {live.Process.Id}", output);
                Assert.Contains(reason, output, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("this is a bug", output);
            }
            Assert.Empty(Directory.GetDirectories(dir.File("runs"), "live.replaced-*"));
            Assert.False(live.Process.HasExited, "the live run was disturbed: " + live.Output);

            // Ctrl-C: the live run saves its checkpoint into its own folder, which nobody moved.
            InheritedSignals.RestoreInterrupt();
            Process.Start("kill", $"-INT {live.Process.Id}")!.WaitForExit();
            Assert.Equal(130, live.Wait());
        }
        var checkpoint = Assert.Single(Directory.GetFiles(dir.File("runs/live/checkpoints")));
        MetricsAreWhole(metrics);

        // Now the run has stopped, --overwrite moves it aside whole.
        var before = Hash(checkpoint);
        var (done, said) = CliProcess.Run(Train(common, "live", "steps=2").Append("--overwrite").ToArray());
        Assert.True(done == 0, said);
        var aside = Assert.Single(Directory.GetDirectories(dir.File("runs"), "live.replaced-*"));
        Assert.Equal(before, Hash(Path.Combine(aside, "checkpoints", Path.GetFileName(checkpoint))));
        Assert.True(File.Exists(dir.File("runs/live/model.safetensors")));

        // kill -9 leaves the lock file behind but no lock: the next writer gets the name at once.
        using (var killed = new Child(Train(common, "killed", "steps=100000", "checkpoint_every=100000")))
        {
            WaitForATrainingStep(killed, dir.File("runs/killed/metrics.jsonl"));
            killed.Process.Kill();
            killed.Wait();
        }
        Assert.True(File.Exists(OutputLock.LockPathFor(dir.File("runs/killed"))));
        (done, said) = CliProcess.Run(Train(common, "killed", "steps=2").Append("--overwrite").ToArray());
        Assert.True(done == 0, said);
    }

    [Fact]
    public void ExportEmbedAndInterpolateRefuseAnOutputAnotherProcessWrites()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var (code, output) = CliProcess.Run(Train(common, "m", "steps=1"));
        Assert.True(code == 0, output);
        var model = dir.File("runs/m");
        var outputs = new (string Out, string[] Args)[]
        {
            (dir.File("exported"), ["export", "--model", model, "--format", "onnx", "--out", dir.File("exported")]),
            (
                dir.File("index.safetensors"),
                ["embed", "--model", model, "--images", dir.File("data/train"), "--out", dir.File("index.safetensors")]
            ),
            (
                dir.File("mixed"),
                ["interpolate", "--from", model, "--to", model, "--alpha", "0.5", "--out", dir.File("mixed")]
            ),
        };
        foreach (var (path, args) in outputs)
        {
            // This test process is the other writer: the CLI child must name it and write nothing.
            using (OutputLock.Acquire(path, "the test"))
            {
                (code, output) = CliProcess.Run(args);
                Assert.NotEqual(0, code);
                Assert.Contains($"--out {Path.GetFullPath(path)} is being written by another process", output);
                Assert.Contains($"PID {Environment.ProcessId} (the test)", output);
                Assert.False(File.Exists(path) || Directory.Exists(path) && Directory.EnumerateFiles(path).Any());
            }
            (code, output) = CliProcess.Run(args);
            Assert.True(code == 0, output);
        }
    }
}
