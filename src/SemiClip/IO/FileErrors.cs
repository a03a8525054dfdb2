namespace SemiClip.IO;

/// <summary>What went wrong with a file operation, in a few words and without the path (the caller says the path once,
/// with the option or field that named it): "read-only file system", "permission denied", "no space left on device".
/// .NET's messages repeat the path and, for a file that cannot be created, say "Could not find file".</summary>
public static class FileErrors
{
    public static string Reason(Exception e) =>
        e switch
        {
            UnauthorizedAccessException => "permission denied",
            FileNotFoundException or DirectoryNotFoundException => "no such folder, and it cannot be made there",
            PathTooLongException => "the path is too long",
            // On Unix .NET words an errno as "<strerror> : '<path>'"; the strerror is the part to say.
            IOException when e.Message.IndexOf(" : '", StringComparison.Ordinal) is > 0 and var cut => Lower(
                e.Message[..cut]
            ),
            _ => Lower(e.Message.TrimEnd('.')),
        };

    static string Lower(string text) => text.Length > 0 ? char.ToLowerInvariant(text[0]) + text[1..] : text;
}
