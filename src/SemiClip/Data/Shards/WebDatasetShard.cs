using System.Formats.Tar;
using System.Text;
using System.Text.Json;

namespace SemiClip.Data.Shards;

/// <summary>Reads webdataset shards: uncompressed tar files whose consecutive members sharing a key
/// (the name up to the first dot of its last path part, as webdataset splits it) form one sample, e.g.
/// <c>000042.jpg</c> + <c>000042.txt</c> / <c>000042.json</c>. Images: jpg, jpeg, png, webp, bmp, gif, tif, tiff.
/// Captions: a .txt member (one caption) or a .json member with <c>"caption"</c> or <c>"captions"</c>.
/// A sample without an image, or an unreadable tar, is bad input named by shard and member.</summary>
public static class WebDatasetShard
{
    static readonly HashSet<string> ImageExtensions = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"];

    /// <summary>The samples of one shard, from its headers only (member data is skipped by seeking).</summary>
    public static IEnumerable<ShardSample> Samples(string shard, BadInputReport report)
    {
        using var stream = new FileStream(shard, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        if (IsGzip(stream))
            throw new InvalidDataException(
                $"{shard}: a compressed tar; SemiClip streams uncompressed .tar shards (gunzip it first)."
            );
        using var tar = new TarReader(stream);
        string? key = null;
        ShardMember? image = null,
            text = null,
            json = null;
        while (true)
        {
            TarEntry? entry;
            try
            {
                entry = tar.GetNextEntry();
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
            {
                report.Report(shard, $"tar is truncated or corrupt after member '{key}' ({e.Message}).");
                break;
            }
            if (entry is null)
                break;
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                continue;
            var (memberKey, extension) = Split(entry.Name);
            if (memberKey != key)
            {
                if (Finish(shard, key, image, text, json, report) is { } done)
                    yield return done;
                (key, image, text, json) = (memberKey, null, null, null);
            }
            var member = new ShardMember(entry.DataOffset, entry.Length, extension);
            // "seg.png" is a png, as webdataset's decoders see it
            var kind = extension[(extension.LastIndexOf('.') + 1)..];
            if (ImageExtensions.Contains(kind))
                image = member;
            else if (kind == "txt")
                text = member;
            else if (kind == "json")
                json = member;
        }
        if (Finish(shard, key, image, text, json, report) is { } last)
            yield return last;
    }

    static ShardSample? Finish(
        string shard,
        string? key,
        ShardMember? image,
        ShardMember? text,
        ShardMember? json,
        BadInputReport report
    )
    {
        if (key is null)
            return null;
        if (image is { } img)
            return new ShardSample(shard, key, img, text, json);
        report.Report($"{shard}:{key}", "sample has no image member (.jpg, .png, .webp, …).");
        return null;
    }

    /// <summary>webdataset's split of a member name: key = directory + name up to the first dot; extension = the rest,
    /// lower-case.</summary>
    public static (string Key, string Extension) Split(string name)
    {
        int slash = name.LastIndexOf('/');
        int dot = name.IndexOf('.', slash + 1);
        return dot < 0 ? (name, "") : (name[..dot], name[(dot + 1)..].ToLowerInvariant());
    }

    static bool IsGzip(FileStream s)
    {
        int a = s.ReadByte(),
            b = s.ReadByte();
        s.Position = 0;
        return a == 0x1f && b == 0x8b;
    }

    public static byte[] ReadMember(string shard, ShardMember member)
    {
        using var stream = new FileStream(shard, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        stream.Position = member.Offset;
        var bytes = new byte[member.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>The sample's captions (all of a .json's "captions", else its "caption", else the .txt), trimmed,
    /// empty ones dropped; none is bad input.</summary>
    public static IReadOnlyList<string> Captions(ShardSample sample)
    {
        var captions = new List<string>();
        if (sample.Json is { } json)
        {
            var bytes = ReadMember(sample.Shard, json);
            try
            {
                using var doc = JsonDocument.Parse(bytes);
                var root = doc.RootElement;
                if (
                    root.ValueKind == JsonValueKind.Object
                    && root.TryGetProperty("captions", out var many)
                    && many.ValueKind == JsonValueKind.Array
                )
                    captions.AddRange(
                        many.EnumerateArray()
                            .Where(c => c.ValueKind == JsonValueKind.String)
                            .Select(c => c.GetString()!)
                    );
                else if (
                    root.ValueKind == JsonValueKind.Object
                    && root.TryGetProperty("caption", out var one)
                    && one.ValueKind == JsonValueKind.String
                )
                    captions.Add(one.GetString()!);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{sample.Location}.json: invalid JSON ({IO.JsonErrors.Problem(e)}).");
            }
        }
        if (captions.Count == 0 && sample.Text is { } text)
            captions.Add(Encoding.UTF8.GetString(ReadMember(sample.Shard, text)));
        captions = captions.Select(c => c.Trim()).Where(c => c.Length > 0).ToList();
        if (captions.Count == 0)
            throw new InvalidDataException(
                $"{sample.Location}: no caption (expected a non-empty .txt, or .json with \"caption\" or \"captions\")."
            );
        return captions;
    }
}
