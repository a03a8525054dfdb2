using System.Runtime.InteropServices;

namespace SemiClip.Tests.Support;

/// <summary>A shell without job control starts its background jobs (<c>cmd &amp;</c>) with SIGINT and SIGQUIT ignored,
/// and an ignored signal stays ignored in every process started below them: a test suite launched that way would
/// send Ctrl-C to CLI children that cannot hear it. The signal tests restore the default first, so they test the CLI,
/// not how the suite was started.</summary>
public static partial class InheritedSignals
{
    const int SigInt = 2;

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint Signal(int signum, nint handler);

    /// <summary>Whether this process ignores SIGINT (bit 2 of <c>SigIgn</c> in /proc/self/status).</summary>
    public static bool InterruptIgnored()
    {
        var line = File.ReadLines("/proc/self/status")
            .FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        if (line is null)
            return false;
        ulong mask = Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16);
        return (mask & (1UL << (SigInt - 1))) != 0;
    }

    /// <summary>Makes SIGINT's disposition the default again when it was inherited as ignored (Linux).</summary>
    public static void RestoreInterrupt()
    {
        if (OperatingSystem.IsLinux() && InterruptIgnored())
            Signal(SigInt, 0); // SIG_DFL
    }
}
