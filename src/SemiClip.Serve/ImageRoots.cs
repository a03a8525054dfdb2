namespace SemiClip.Serve;

/// <summary>The folders whose images the server may send, and the one way a request path becomes a file. A request
/// names a root by number and a path inside it; the path is refused unless every segment is a plain name (no <c>..</c>,
/// <c>.</c>, empty segment, backslash, drive, or slash hidden by percent-encoding), and the file it reaches — after
/// every symbolic link on the way is followed — lies inside the root's own real folder and is an image. Checking the
/// real path, not the spelled one, is what keeps a link that points out of the folder shut.</summary>
public sealed class ImageRoots
{
    readonly List<(string Spelled, string Real)> _roots = [];

    public ImageRoots(IEnumerable<string> folders)
    {
        foreach (var folder in folders.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal))
        {
            if (!Directory.Exists(folder))
                throw new DirectoryNotFoundException($"{folder}: image folder not found.");
            _roots.Add((folder, RealPath(folder)));
        }
    }

    public int Count => _roots.Count;

    /// <summary>The URL path (<c>/img/{root}/{segments}</c>) that serves <paramref name="file"/>, or null when it lies
    /// under none of the roots.</summary>
    public string? UrlOf(string file)
    {
        var full = Path.GetFullPath(file);
        for (int i = 0; i < _roots.Count; i++)
        {
            var root = _roots[i].Spelled;
            if (!IsInside(full, root))
                continue;
            var relative = Path.GetRelativePath(root, full).Split(Path.DirectorySeparatorChar);
            return $"/img/{i}/" + string.Join('/', relative.Select(Uri.EscapeDataString));
        }
        return null;
    }

    /// <summary>The file a request for <paramref name="encodedPath"/> (still percent-encoded, as it came on the wire)
    /// in root <paramref name="root"/> may read, or null with the reason it is refused.</summary>
    public (string? File, string? Refusal) Resolve(int root, string encodedPath)
    {
        if (root < 0 || root >= _roots.Count)
            return (null, $"no image folder {root}");
        var segments = encodedPath.Split('/');
        var names = new List<string>();
        foreach (var raw in segments)
        {
            string name;
            try
            {
                name = Uri.UnescapeDataString(raw);
            }
            catch (UriFormatException)
            {
                return (null, "malformed percent-encoding");
            }
            if (name.Length == 0 || name is "." or ".." || name.IndexOfAny(['/', '\\', '\0', ':']) >= 0)
                return (null, "only plain file and folder names are allowed in an image path");
            names.Add(name);
        }
        var (spelled, real) = _roots[root];
        var candidate = Path.GetFullPath(Path.Combine([spelled, .. names]));
        if (!IsInside(candidate, spelled))
            return (null, "outside the image folders");
        if (!Data.ImageFiles.IsImage(candidate))
            return (null, "not an image file");
        if (!File.Exists(candidate))
            return (null, "no such image");
        if (!IsInside(RealPath(candidate), real))
            return (null, "a link out of the image folders");
        return (candidate, null);
    }

    static bool IsInside(string path, string folder) =>
        path.StartsWith(
            folder.EndsWith(Path.DirectorySeparatorChar) ? folder : folder + Path.DirectorySeparatorChar,
            StringComparison.Ordinal
        );

    /// <summary>The path with every symbolic link along it followed (what realpath(3) returns, written with .NET's
    /// link API so it works on every OS the toolkit runs on).</summary>
    public static string RealPath(string path, int depth = 0)
    {
        if (depth > 40)
            throw new IOException($"{path}: too many levels of symbolic links.");
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full)!;
        var current = root;
        foreach (
            var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries)
        )
        {
            var next = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.LinkTarget != null)
            {
                var target = info.LinkTarget;
                next = RealPath(Path.IsPathRooted(target) ? target : Path.Combine(current, target), depth + 1);
            }
            current = next;
        }
        return current;
    }
}
