using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;

namespace SemiClip.Data;

/// <summary>Images with class labels for zero-shot evaluation and linear probes.</summary>
public sealed record ClassificationDataset(
    IReadOnlyList<string> ClassNames,
    IReadOnlyList<(string ImagePath, int Label)> Items
)
{
    /// <summary>Reads a class-per-subfolder tree (UC Merced, WHU-RS19, AID, RESISC45), a CSV of
    /// <c>path,label</c>, or an RSICD <c>txtclasses</c> folder (one .txt per class listing file names, with
    /// <paramref name="imageRoot"/>). Class names come from folder/file names with '_' → ' ', unless
    /// <paramref name="classNamesFile"/> maps them (lines "original: display name").</summary>
    public static ClassificationDataset Load(
        string path,
        BadInputReport report,
        string? imageRoot = null,
        string? classNamesFile = null
    )
    {
        ClassificationDataset ds;
        if (
            Directory.Exists(path)
            && Directory.EnumerateFiles(path, "*.txt").Any()
            && !Directory.EnumerateDirectories(path).Any()
        )
            ds = FromTextClasses(
                path,
                imageRoot ?? throw new ArgumentException($"{path}: a txtclasses folder needs image_root."),
                report
            );
        else if (Directory.Exists(path))
            ds = FromFolders(path);
        else if (File.Exists(path) && path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
            ds = FromCsv(path, imageRoot, report);
        else
            throw new FileNotFoundException(
                $"{path}: not a class folder tree, a txtclasses folder or a .csv of path,label.",
                path
            );
        if (ds.Items.Count == 0)
            throw new InvalidDataException($"{path}: no labelled images found.");
        return classNamesFile is null ? ds : ds with { ClassNames = Rename(ds.ClassNames, classNamesFile) };
    }

    public static string Prettify(string raw) => raw.Replace('_', ' ').Trim();

    static ClassificationDataset FromFolders(string root)
    {
        var classes = Directory
            .GetDirectories(root)
            .Select(Path.GetFileName)
            .OrderBy(n => n, StringComparer.Ordinal)
            .ToList();
        var items = new List<(string, int)>();
        for (int c = 0; c < classes.Count; c++)
            items.AddRange(
                Directory
                    .EnumerateFiles(Path.Combine(root, classes[c]!), "*", SearchOption.AllDirectories)
                    .Where(ImageFiles.IsImage)
                    .OrderBy(p => p, StringComparer.Ordinal)
                    .Select(p => (Path.GetFullPath(p), c))
            );
        return new ClassificationDataset(classes.Select(n => Prettify(n!)).ToList(), items);
    }

    static ClassificationDataset FromCsv(string path, string? imageRoot, BadInputReport report)
    {
        var root = imageRoot ?? Path.GetDirectoryName(Path.GetFullPath(path))!;
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(
            reader,
            new CsvConfiguration(CultureInfo.InvariantCulture)
            {
                HasHeaderRecord = false,
                MissingFieldFound = null,
                BadDataFound = null,
            }
        );
        var labels = new List<string>();
        var rows = new List<(string, string)>();
        while (csv.Read())
        {
            var record = csv.Parser.Record ?? Array.Empty<string>();
            var location = $"{path}:{csv.Parser.RawRow}";
            if (csv.Parser.RawRow == 1 && record.Length >= 2 && record[0] == "path" && record[1] == "label")
                continue; // optional header
            if (record.Length < 2)
            {
                report.Report(location, $"row has {record.Length} column(s); expected path,label.");
                continue;
            }
            if (string.IsNullOrWhiteSpace(record[1]))
            {
                report.Report(location, "empty label.");
                continue;
            }
            if (CaptionDatasetReader.ImagePath(root, record[0], location, report) is not { } image)
                continue;
            if (!File.Exists(image))
            {
                report.Report(location, $"image file '{image}' does not exist.");
                continue;
            }
            rows.Add((image, record[1].Trim()));
        }
        labels = rows.Select(r => r.Item2).Distinct().OrderBy(l => l, StringComparer.Ordinal).ToList();
        var index = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i);
        return new ClassificationDataset(
            labels.Select(Prettify).ToList(),
            rows.Select(r => (r.Item1, index[r.Item2])).ToList()
        );
    }

    static ClassificationDataset FromTextClasses(string folder, string imageRoot, BadInputReport report)
    {
        if (!Directory.Exists(imageRoot))
            throw new DirectoryNotFoundException($"{folder}: image root '{imageRoot}' does not exist.");
        var files = Directory.GetFiles(folder, "*.txt").OrderBy(f => f, StringComparer.Ordinal).ToList();
        var items = new List<(string, int)>();
        for (int c = 0; c < files.Count; c++)
        {
            int lineNo = 0;
            foreach (var line in File.ReadLines(files[c]))
            {
                lineNo++;
                var name = line.Trim();
                if (name.Length == 0)
                    continue;
                var image = Path.GetFullPath(Path.Combine(imageRoot, name));
                if (!File.Exists(image))
                {
                    report.Report($"{files[c]}:{lineNo}", $"image file '{image}' does not exist.");
                    continue;
                }
                items.Add((image, c));
            }
        }
        return new ClassificationDataset(
            files.Select(f => Prettify(Path.GetFileNameWithoutExtension(f))).ToList(),
            items
        );
    }

    static List<string> Rename(IReadOnlyList<string> names, string file)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        int lineNo = 0;
        foreach (var line in File.ReadLines(file))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            int colon = line.IndexOf(':');
            if (colon <= 0)
                throw new InvalidDataException($"{file}:{lineNo}: expected 'original name: display name'.");
            var display = line[(colon + 1)..].Trim();
            if (display.Length == 0)
                throw new InvalidDataException($"{file}:{lineNo}: no display name after ':'.");
            map[Prettify(line[..colon])] = display;
        }
        return names.Select(n => map.GetValueOrDefault(n, n)).ToList();
    }
}
