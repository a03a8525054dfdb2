namespace SemiClip.IO;

/// <summary>A folder written whole or not at all: its files go into <c>TARGET.partial-PID</c> beside it, which is
/// moved into place only once every file is written; a failure removes the staging folder, so no half-made output is
/// ever left where a reader looks.</summary>
public static class StagedFolder
{
    /// <param name="makeRoom">Called just before the move, to clear <paramref name="target"/> if it exists (remove an
    /// empty folder, move an old output aside); the move needs the name free.</param>
    public static void Write(string target, Action<string> write, Action<string>? makeRoom = null)
    {
        target = Path.GetFullPath(target).TrimEnd(Path.DirectorySeparatorChar);
        var staging = $"{target}.partial-{Environment.ProcessId}";
        if (Directory.Exists(staging))
            Directory.Delete(staging, recursive: true);
        try
        {
            Directory.CreateDirectory(staging);
            write(staging);
            makeRoom?.Invoke(target);
            Directory.Move(staging, target);
        }
        catch
        {
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
            throw;
        }
    }
}
