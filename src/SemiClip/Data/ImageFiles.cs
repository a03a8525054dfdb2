namespace SemiClip.Data;

/// <summary>Finds image files: recursively in a folder, or listed one per line in a text file
/// (paths relative to the list). Used for unpaired images and for embedding a folder.</summary>
public static class ImageFiles
{
    public static readonly System.Collections.Frozen.FrozenSet<string> Extensions =
        System.Collections.Frozen.FrozenSet.ToFrozenSet(
            [".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"],
            StringComparer.OrdinalIgnoreCase
        );

    public static bool IsImage(string path) => Extensions.Contains(Path.GetExtension(path));

    public static List<string> FromFolderOrList(string path, BadInputReport report)
    {
        if (Directory.Exists(path))
            return Directory
                .EnumerateFiles(path, "*", SearchOption.AllDirectories)
                .Where(IsImage)
                .Select(Path.GetFullPath)
                .OrderBy(p => p, StringComparer.Ordinal)
                .ToList();
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: neither an image folder nor a list file.", path);
        var root = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var result = new List<string>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            var entry = line.Trim();
            if (entry.Length == 0 || entry.StartsWith('#'))
                continue;
            var full = Path.GetFullPath(Path.Combine(root, entry));
            if (!File.Exists(full))
            {
                report.Report($"{path}:{lineNo}", $"image file '{full}' does not exist.");
                continue;
            }
            result.Add(full);
        }
        return result;
    }
}
