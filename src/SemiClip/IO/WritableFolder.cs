namespace SemiClip.IO;

/// <summary>Checks, before any work, that outputs can be written where they are asked for, so a wrong path fails in a
/// second and names its option or field, instead of failing after hours of work with the runtime's words.</summary>
public static class WritableFolder
{
    /// <param name="setting">How the user named the folder: an option (<c>--out</c>) or a config field
    /// (<c>runs_dir</c>).</param>
    public static void Require(string folder, string setting)
    {
        try
        {
            Directory.CreateDirectory(folder);
            var probe = Path.Combine(folder, $".semiclip-write-check-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException(
                $"{setting} {folder}: cannot write there ({FileErrors.Reason(e)}); choose a folder you can write to."
            );
        }
    }
}
