using System.Globalization;
using System.Text.Json;

namespace SemiClip.IO;

/// <summary>One writer per output. An exclusive OS lock on a hidden file beside the output
/// (<c>.NAME.lock</c>), held for as long as this object lives: a second process (or a second writer in this process)
/// that asks for the same output is refused at once and told who holds it. The operating system drops the lock when
/// its process ends, however it ends, so a killed run leaves nothing to clean up.</summary>
/// <remarks>The lock is .NET's own: a file opened with <see cref="FileShare.None"/> takes <c>flock(LOCK_EX)</c> on
/// Unix and a sharing lock on Windows, per open file (so two writers in one process also conflict, which POSIX record
/// locks would not). The lock file is never deleted: deleting it would let a later writer lock a fresh file while an
/// earlier one still holds the unlinked one. Who holds it is written to <c>.NAME.lock.holder</c>, because the locked
/// file cannot be opened by anyone else, even to read.</remarks>
public sealed class OutputLock : IDisposable
{
    readonly FileStream _lock;
    readonly string _holderPath;

    /// <summary>The output this lock guards (a run folder, an export folder, an index file…).</summary>
    public string Output { get; }

    OutputLock(string output, FileStream locked, string holderPath)
    {
        Output = output;
        _lock = locked;
        _holderPath = holderPath;
    }

    /// <summary>Where the lock for <paramref name="output"/> lives: beside it, so it guards the name whether or not
    /// the output exists yet and survives the output being moved aside.</summary>
    public static string LockPathFor(string output)
    {
        var full = Path.GetFullPath(output).TrimEnd(Path.DirectorySeparatorChar);
        return Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.lock");
    }

    /// <summary>Takes the lock on <paramref name="output"/> or throws <see cref="OutputBusyException"/> naming the
    /// process that holds it. <paramref name="command"/> says what this process is doing, for the next one's
    /// message (default: its command line).</summary>
    public static OutputLock Acquire(string output, string? command = null)
    {
        command ??= CommandLine();
        var full = Path.GetFullPath(output).TrimEnd(Path.DirectorySeparatorChar);
        var lockPath = LockPathFor(full);
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        FileStream locked;
        try
        {
            locked = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            if (!IsSharingViolation(e))
                throw;
            throw new OutputBusyException(full, WaitForHolder(lockPath + ".holder"));
        }
        var holder = new OutputHolder(
            Environment.ProcessId,
            command,
            DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)
        );
        try
        {
            AtomicFile.WriteAllText(lockPath + ".holder", JsonSerializer.Serialize(holder));
        }
        catch
        {
            locked.Dispose();
            throw;
        }
        return new OutputLock(full, locked, lockPath + ".holder");
    }

    static string CommandLine()
    {
        var args = Environment.GetCommandLineArgs();
        var text = string.Join(' ', args.Select((a, i) => i == 0 ? Path.GetFileName(a) : a));
        return text.Length <= 200 ? text : text[..197] + "...";
    }

    // .NET reports a lock held elsewhere as an IOException carrying flock's EWOULDBLOCK on Unix (11 on Linux, 35 on
    // macOS) and ERROR_SHARING_VIOLATION (32) on Windows; other IOExceptions (a full disk) are reported as they are.
    static bool IsSharingViolation(IOException e) =>
        OperatingSystem.IsWindows() ? (e.HResult & 0xFFFF) == 32
        : OperatingSystem.IsMacOS() ? e.HResult == 35
        : e.HResult == 11;

    // The holder writes who it is just after it takes the lock; a writer refused in that moment waits for it briefly.
    static OutputHolder? WaitForHolder(string path)
    {
        for (int attempt = 0; attempt < 40; attempt++)
        {
            if (ReadHolder(path) is { } holder)
                return holder;
            Thread.Sleep(25);
        }
        return null;
    }

    static OutputHolder? ReadHolder(string path)
    {
        try
        {
            var holder = JsonSerializer.Deserialize<OutputHolder>(File.ReadAllText(path));
            // The file of a holder that died is left behind; the lock is live, so its writer has not written yet.
            return holder != null && IsAlive(holder.Pid) ? holder : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    static bool IsAlive(int pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        try
        {
            File.Delete(_holderPath); // under the lock: no later holder can have written it yet
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        _lock.Dispose();
    }
}

/// <summary>Who holds an output's lock: the process, what it is doing and since when (UTC).</summary>
public sealed record OutputHolder(int Pid, string Command, string Since);

/// <summary>Another writer holds the output: the message names it (PID, command, since when) when it could be
/// read.</summary>
public sealed class OutputBusyException(string output, OutputHolder? holder, string? message = null)
    : IOException(message ?? Describe(output, holder))
{
    public string Output { get; } = output;
    public OutputHolder? Holder { get; } = holder;

    public static string Describe(string output, OutputHolder? holder) =>
        holder is null
            ? $"{output} is being written by another process (its details are not readable yet). {Advice}"
            : $"{output} is being written by another process: PID {holder.Pid} ({holder.Command}), since "
                + $"{holder.Since}. {Advice}";

    const string Advice = "Wait for it to end or stop it, or write to another path.";
}
