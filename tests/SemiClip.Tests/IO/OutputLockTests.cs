using System.Diagnostics;
using SemiClip.IO;
using SemiClip.Tests.Support;

namespace SemiClip.Tests.IO;

/// <summary>The one-writer lock: exclusive within a process and across processes (checked against util-linux's
/// <c>flock</c>, an independent holder of the same OS lock), released on dispose and when its holder dies.</summary>
public class OutputLockTests
{
    [Fact]
    public void ASecondWriterIsRefusedWithWhoHoldsItUntilTheFirstLetsGo()
    {
        using var dir = new TempDir();
        var output = dir.File("runs/r1");
        var first = OutputLock.Acquire(output, "semiclip train r1");
        var busy = Assert.Throws<OutputBusyException>(() => OutputLock.Acquire(output, "semiclip train again"));
        Assert.Equal(Path.GetFullPath(output), busy.Output);
        Assert.Equal(Environment.ProcessId, busy.Holder!.Pid);
        Assert.Equal("semiclip train r1", busy.Holder.Command);
        Assert.Contains($"PID {Environment.ProcessId} (semiclip train r1), since ", busy.Message);
        Assert.False(Directory.Exists(output), "the lock guards the name; it does not make the output");

        // A trailing separator names the same output.
        Assert.Throws<OutputBusyException>(() => OutputLock.Acquire(output + "/", "x").Dispose());
        first.Dispose();
        OutputLock.Acquire(output, "semiclip train r1").Dispose();
        OutputLock.Acquire(output + "/", "x").Dispose();
    }

    [Fact]
    public void OtherOutputsInOneFolderAreIndependent()
    {
        using var dir = new TempDir();
        using var a = OutputLock.Acquire(dir.File("a"), "a");
        using var b = OutputLock.Acquire(dir.File("b"), "b");
        using var ab = OutputLock.Acquire(dir.File("a.b"), "a.b");
    }

    [Fact]
    public void TheLockIsTheOperatingSystemsAndDiesWithItsProcess()
    {
        Assert.True(File.Exists("/usr/bin/flock"), "util-linux's flock (part of every Debian install) is missing");
        using var dir = new TempDir();
        var output = dir.File("index.safetensors");
        var lockFile = OutputLock.LockPathFor(output);
        File.WriteAllText(lockFile, "");

        // Another process holds the same flock: refused, its details unknown (it wrote no holder file).
        using (var holder = Process.Start("/usr/bin/flock", ["-x", lockFile, "-c", "sleep 30"])!)
        {
            var clock = Stopwatch.StartNew();
            OutputBusyException? busy = null;
            while (busy == null && clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                try
                {
                    OutputLock.Acquire(output, "test").Dispose();
                    Thread.Sleep(50); // flock has not taken it yet
                }
                catch (OutputBusyException e)
                {
                    busy = e;
                }
            }
            Assert.NotNull(busy);
            Assert.Null(busy.Holder);
            Assert.Contains("is being written by another process", busy.Message);

            // kill -9: the OS drops the lock with the process.
            holder.Kill(entireProcessTree: true);
            holder.WaitForExit();
        }
        // flock's child (the sleep) holds the lock too and is reaped a moment after flock itself.
        var reaped = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                OutputLock.Acquire(output, "test").Dispose();
                break;
            }
            catch (OutputBusyException) when (reaped.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Sleep(50);
            }
        }

        // And ours is seen by flock: it cannot take the lock while we hold it.
        using (OutputLock.Acquire(output, "test"))
        {
            using var probe = Process.Start("/usr/bin/flock", ["-n", "-x", lockFile, "-c", "true"])!;
            probe.WaitForExit();
            Assert.Equal(1, probe.ExitCode);
        }
    }
}
