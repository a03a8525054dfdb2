using SemiClip.IO;
using SemiClip.Tests.Support;
using SemiClip.Training;

namespace SemiClip.Tests.Training;

public class ResumeAfterKillTests
{
    [Fact]
    public void RunKilledWithSigkillAndResumedEndsBitIdenticalToAnUninterruptedRun()
    {
        using var dir = new TempDir();
        var common = TinySetup
            .Write(dir)
            .Concat(new[] { "method=sclip", "label_ratio=0.5", "steps=60", "checkpoint_every=4", "threads=1" })
            .ToList();
        string[] Args(string run, bool resume) =>
            new[] { "train", "--run-name", run }
                .Concat(common.SelectMany(o => new[] { "--set", o }))
                .Concat(resume ? new[] { "--resume" } : Array.Empty<string>())
                .Concat(new[] { "--threads", "1", "--device", "cpu" })
                .ToArray();

        var straight = CliProcess.Run(Args("straight", false));
        Assert.True(straight.ExitCode == 0, straight.Output);

        var killedDir = dir.File("runs/killed");
        using (var child = CliProcess.Start(Args("killed", false)))
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (
                !File.Exists(TrainCheckpoint.PathFor(Path.Combine(killedDir, "checkpoints"), 8))
                && !child.HasExited
                && DateTime.UtcNow < deadline
            )
                Thread.Sleep(10);
            Assert.False(child.HasExited, "the run finished before it could be killed");
            child.Kill(entireProcessTree: true); // SIGKILL
            child.WaitForExit();
        }
        Assert.False(
            File.Exists(Path.Combine(killedDir, "model.safetensors")),
            "the killed run must not have finished"
        );
        var latest = TrainCheckpoint.Latest(Path.Combine(killedDir, "checkpoints"))!;
        long resumeFrom = TrainCheckpoint.ReadState(latest).Step;
        Assert.True(resumeFrom is >= 8 and < 60);

        var resumed = CliProcess.Run(Args("killed", true));
        Assert.True(resumed.ExitCode == 0, resumed.Output);
        Assert.Contains($"steps {resumeFrom} → 60", resumed.Output);

        using var a = new SafeTensorsReader(dir.File("runs/straight/model.safetensors"));
        using var b = new SafeTensorsReader(Path.Combine(killedDir, "model.safetensors"));
        Assert.Equal(a.Names.OrderBy(n => n), b.Names.OrderBy(n => n));
        foreach (var name in a.Names)
        {
            using var ta = a.Read(name);
            using var tb = b.Read(name);
            Assert.True(ta.bytes.SequenceEqual(tb.bytes), $"{name} differs after resume");
        }
    }
}
