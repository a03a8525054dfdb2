using System.Globalization;
using System.Text.Json;
using CsvHelper;
using CsvHelper.Configuration;

namespace SemiClip.Data;

/// <summary>Reads the caption formats specialist datasets ship in: open_clip CSV/TSV (header row, chosen
/// columns), JSON Lines (<c>{"image": …, "captions": [...]}</c> or <c>"caption"</c>), and Karpathy-style
/// JSON (RSICD, UCM-captions, Sydney-captions: <c>images[].filename/split/sentences[].raw</c>).
/// Every problem names the file and the line, row or entry.</summary>
public static class CaptionDatasetReader
{
    /// <param name="stats">Counts what was dropped without being a bad input: empty captions (the image keeps its
    /// others; an image left with none is a bad input).</param>
    public static List<CaptionSample> Read(
        string path,
        CaptionDatasetOptions options,
        BadInputReport report,
        CaptionReadStats? stats = null
    )
    {
        stats ??= new CaptionReadStats();
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: caption file not found.", path);
        var root = options.ImageRoot ?? Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"{path}: image root '{root}' does not exist.");
        var ext = Path.GetExtension(path).ToLowerInvariant();
        // Every bad row of the file is said at once: under fail-fast they are gathered, then refused together.
        var gathered = report.Policy == BadInputPolicy.FailFast ? new BadInputReport(BadInputPolicy.Skip) : report;
        var samples = Samples(path, ext, root, options, gathered, stats);
        if (gathered != report && gathered.Count > 0)
            throw new BadInputException(gathered.Items);
        return samples;
    }

    static List<CaptionSample> Samples(
        string path,
        string ext,
        string root,
        CaptionDatasetOptions options,
        BadInputReport report,
        CaptionReadStats stats
    )
    {
        var samples = ext switch
        {
            ".csv" or ".tsv" => ReadCsv(path, root, options, report, stats),
            ".jsonl" => ReadJsonLines(path, root, report, stats),
            ".json" => ReadKarpathy(path, root, options, report, stats),
            _ => throw new ArgumentException(
                $"{path}: unknown caption format '{ext}' (expected .csv, .tsv, .jsonl or Karpathy .json)."
            ),
        };
        return options.CheckImagesExist ? samples.Where(s => ImageExists(s, report)).ToList() : samples;
    }

    static bool ImageExists(CaptionSample s, BadInputReport report)
    {
        if (File.Exists(s.ImagePath))
            return true;
        report.Report(s.Source, $"image file '{s.ImagePath}' does not exist.");
        return false;
    }

    /// <summary>The non-empty captions; empty ones are counted and dropped. An entry left with none is a bad
    /// input.</summary>
    static List<string> CleanCaptions(
        IEnumerable<string?> captions,
        string location,
        BadInputReport report,
        CaptionReadStats stats,
        bool wholeEntry = true
    )
    {
        var kept = new List<string>();
        int empty = 0;
        foreach (var c in captions)
        {
            if (string.IsNullOrWhiteSpace(c))
            {
                empty++;
                continue;
            }
            kept.Add(c.Trim());
        }
        Interlocked.Add(ref stats.EmptyCaptions, empty);
        if (kept.Count == 0 && wholeEntry)
            report.Report(location, empty > 0 ? $"no caption left: its {empty} caption(s) are empty." : "no captions.");
        return kept;
    }

    static List<CaptionSample> ReadCsv(
        string path,
        string root,
        CaptionDatasetOptions o,
        BadInputReport report,
        CaptionReadStats stats
    )
    {
        var sep = o.Separator ?? (path.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase) ? "\t" : ",");
        var config = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            Delimiter = sep,
            HasHeaderRecord = true,
            DetectColumnCountChanges = false,
            MissingFieldFound = null,
            BadDataFound = null,
            Mode = sep == "\t" ? CsvMode.NoEscape : CsvMode.RFC4180,
        };
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, config);
        if (!csv.Read() || !csv.ReadHeader())
            throw new InvalidDataException($"{path}: empty file, expected a header row.");
        var header = csv.HeaderRecord!;
        int imageCol = Array.IndexOf(header, o.ImageColumn),
            captionCol = Array.IndexOf(header, o.CaptionColumn);
        if (imageCol < 0)
            throw new SettingsException(
                new SettingProblem(
                    "csv_img_key",
                    $"{path}:1: no column '{o.ImageColumn}' in header [{string.Join(", ", header)}] (set csv_img_key)"
                )
            );
        if (captionCol < 0)
            throw new SettingsException(
                new SettingProblem(
                    "csv_caption_key",
                    $"{path}:1: no column '{o.CaptionColumn}' in header [{string.Join(", ", header)}] "
                        + "(set csv_caption_key)"
                )
            );
        var byImage = new Dictionary<string, (List<string> Captions, string Source)>();
        var order = new List<string>();
        while (csv.Read())
        {
            var location = $"{path}:{csv.Parser.RawRow}";
            var record = csv.Parser.Record ?? Array.Empty<string>();
            if (record.Length <= Math.Max(imageCol, captionCol))
            {
                report.Report(
                    location,
                    $"row has {record.Length} column(s); '{o.ImageColumn}' and '{o.CaptionColumn}' need "
                        + $"{Math.Max(imageCol, captionCol) + 1}."
                );
                continue;
            }
            // A CSV row is one caption of its image; an empty one drops that caption, the image keeps its other rows.
            var captions = CleanCaptions(new[] { record[captionCol] }, location, report, stats, wholeEntry: false);
            if (captions.Count == 0)
                continue;
            if (ImagePath(root, record[imageCol], location, report) is not { } image)
                continue;
            if (!byImage.TryGetValue(image, out var entry))
            {
                byImage[image] = entry = (new List<string>(), location);
                order.Add(image);
            }
            entry.Captions.AddRange(captions);
        }
        return order.Select(img => new CaptionSample(img, byImage[img].Captions, byImage[img].Source)).ToList();
    }

    static List<CaptionSample> ReadJsonLines(string path, string root, BadInputReport report, CaptionReadStats stats)
    {
        var samples = new List<CaptionSample>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            var location = $"{path}:{lineNo}";
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                report.Report(location, $"invalid JSON: {IO.JsonErrors.Problem(e)}.");
                continue;
            }
            using (doc)
            {
                var r = doc.RootElement;
                if (
                    r.ValueKind != JsonValueKind.Object
                    || !r.TryGetProperty("image", out var img)
                    || img.ValueKind != JsonValueKind.String
                )
                {
                    report.Report(location, "expected an object with a string field \"image\".");
                    continue;
                }
                IEnumerable<string?> raw;
                if (r.TryGetProperty("captions", out var caps) && caps.ValueKind == JsonValueKind.Array)
                    raw = caps.EnumerateArray()
                        .Select(c => c.ValueKind == JsonValueKind.String ? c.GetString() : null)
                        .ToList();
                else if (r.TryGetProperty("caption", out var cap) && cap.ValueKind == JsonValueKind.String)
                    raw = new[] { cap.GetString() };
                else
                {
                    report.Report(location, "expected \"captions\" (array of strings) or \"caption\" (string).");
                    continue;
                }
                var captions = CleanCaptions(raw, location, report, stats);
                if (captions.Count == 0)
                    continue;
                if (ImagePath(root, img.GetString()!, location, report) is not { } image)
                    continue;
                samples.Add(new CaptionSample(image, captions, location) { Label = LabelOf(r) });
            }
        }
        return samples;
    }

    static List<CaptionSample> ReadKarpathy(
        string path,
        string root,
        CaptionDatasetOptions o,
        BadInputReport report,
        CaptionReadStats stats
    )
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(
                $"{path}:{IO.JsonErrors.Line(e)}: invalid JSON: {IO.JsonErrors.Problem(e)}."
            );
        }
        using var _ = doc;
        if (!doc.RootElement.TryGetProperty("images", out var images) || images.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: expected a Karpathy-style object with an \"images\" array.");
        var samples = new List<CaptionSample>();
        var splits = new SortedSet<string>(StringComparer.Ordinal);
        int index = 0,
            inSplit = 0;
        foreach (var entry in images.EnumerateArray())
        {
            var location = $"{path}: images[{index++}]";
            if (!entry.TryGetProperty("filename", out var fn) || fn.ValueKind != JsonValueKind.String)
            {
                report.Report(location, "missing \"filename\".");
                continue;
            }
            string? split =
                entry.TryGetProperty("split", out var sp) && sp.ValueKind == JsonValueKind.String
                    ? sp.GetString()
                    : null;
            if (split != null)
                splits.Add(split);
            if (o.Split != null && split != o.Split)
                continue;
            inSplit++;
            if (!entry.TryGetProperty("sentences", out var sentences) || sentences.ValueKind != JsonValueKind.Array)
            {
                report.Report(location, "missing \"sentences\" array.");
                continue;
            }
            var raw = sentences
                .EnumerateArray()
                .Select(s =>
                    s.TryGetProperty("raw", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null
                );
            var captions = CleanCaptions(raw, location, report, stats);
            if (captions.Count == 0)
                continue;
            if (ImagePath(root, fn.GetString()!, location, report) is not { } image)
                continue;
            samples.Add(new CaptionSample(image, captions, location) { Split = split, Label = LabelOf(entry) });
        }
        if (o.Split != null && inSplit == 0 && index > 0)
            throw new InvalidDataException(
                $"{path}: no images in split '{o.Split}' (splits present: "
                    + $"{(splits.Count == 0 ? "none" : string.Join(", ", splits))}); choose one of them."
            );
        return samples;
    }

    /// <summary>The image's full path, or null (reported) when the field cannot be a path at all.</summary>
    internal static string? ImagePath(string root, string raw, string location, BadInputReport report)
    {
        if (string.IsNullOrWhiteSpace(raw) || raw.IndexOfAny(Path.GetInvalidPathChars()) >= 0 || raw.Contains('\0'))
        {
            report.Report(location, $"'{raw.Replace("\0", "\\0")}' is not an image path.");
            return null;
        }
        return Path.GetFullPath(Path.Combine(root, raw));
    }

    static string? LabelOf(JsonElement entry) =>
        entry.TryGetProperty("label", out var l)
        && l.ValueKind == JsonValueKind.String
        && l.GetString() is { Length: > 0 } s
            ? s
            : null;
}

/// <summary>What reading a caption file dropped without it being a bad input.</summary>
public sealed class CaptionReadStats
{
    /// <summary>Empty or blank captions dropped (RSICD ships three); their images keep their other captions.</summary>
    public int EmptyCaptions;
}
