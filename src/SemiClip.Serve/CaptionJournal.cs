using System.Text.Json;
using System.Text.Json.Nodes;

namespace SemiClip.Serve;

/// <summary>The JSONL caption file the Caption-next page writes, in the format <c>train</c> reads (<c>{"image": path,
/// "captions": [...]}</c>, the path relative to the file's folder when the image is under it). Every save rewrites the
/// whole file atomically (a temporary file renamed over it), so a server stopped at any moment leaves the file as it
/// was before or after one save, never half written. Lines it did not write are kept as they were; a second caption for
/// the same image joins that image's line.</summary>
public sealed class CaptionJournal(string path)
{
    readonly object _gate = new();
    public string FilePath { get; } = Path.GetFullPath(path);

    /// <summary>The images (full paths) the file captions.</summary>
    public HashSet<string> CaptionedImages()
    {
        lock (_gate)
            return Read().Select(l => l.Image).OfType<string>().ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Adds <paramref name="caption"/> to <paramref name="image"/>'s captions; returns all its
    /// captions.</summary>
    public IReadOnlyList<string> Save(string image, string caption)
    {
        caption = caption.Trim();
        if (caption.Length == 0)
            throw new ArgumentException("the caption is empty.");
        var full = Path.GetFullPath(image);
        lock (_gate)
        {
            var lines = Read();
            var existing = lines.FindIndex(l => l.Image == full);
            JsonObject entry;
            if (existing >= 0)
                entry = JsonNode.Parse(lines[existing].Text)!.AsObject();
            else
                entry = new JsonObject { ["image"] = Relative(full), ["captions"] = new JsonArray() };
            if (entry["captions"] is not JsonArray captions)
            {
                // A line with a single "caption": keep it, as one of the list.
                captions = new JsonArray();
                if (entry["caption"]?.GetValue<string>() is { } one)
                    captions.Add(one);
                entry.Remove("caption");
                entry["captions"] = captions;
            }
            captions.Add(caption);
            var text = entry.ToJsonString();
            if (existing >= 0)
                lines[existing] = (full, text);
            else
                lines.Add((full, text));
            Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
            IO.AtomicFile.WriteAllText(FilePath, string.Concat(lines.Select(l => l.Text + "\n")));
            return captions.Select(c => c!.GetValue<string>()).ToList();
        }
    }

    string Relative(string image)
    {
        // Relative when the image lies under the file's folder (the pair moves together), else absolute.
        var relative = Path.GetRelativePath(Path.GetDirectoryName(FilePath)!, image);
        return Path.IsPathRooted(relative) || relative.StartsWith("..", StringComparison.Ordinal)
            ? image
            : relative.Replace(Path.DirectorySeparatorChar, '/');
    }

    List<(string? Image, string Text)> Read()
    {
        var lines = new List<(string?, string)>();
        if (!File.Exists(FilePath))
            return lines;
        int number = 0;
        foreach (var text in File.ReadLines(FilePath))
        {
            number++;
            if (text.Trim().Length == 0)
                continue;
            string? image = null;
            try
            {
                using var doc = JsonDocument.Parse(text);
                if (
                    doc.RootElement.ValueKind == JsonValueKind.Object
                    && doc.RootElement.TryGetProperty("image", out var img)
                    && img.ValueKind == JsonValueKind.String
                )
                    image = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(FilePath)!, img.GetString()!));
            }
            catch (JsonException e)
            {
                throw new InvalidDataException(
                    $"{FilePath}:{number}: not a JSON line ({IO.JsonErrors.Problem(e)}); fix or remove the line "
                        + "before saving."
                );
            }
            lines.Add((image, text));
        }
        return lines;
    }
}
