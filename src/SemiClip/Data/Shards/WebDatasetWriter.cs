using System.Formats.Tar;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SemiClip.Data.Shards;

/// <summary>Writes webdataset shards <c>{prefix}000000.tar</c>, <c>{prefix}000001.tar</c>, … of at most
/// <c>samplesPerShard</c> samples: per sample the image's original bytes (<c>KEY.jpg</c>/<c>.png</c>/…), its
/// first caption as <c>KEY.txt</c> (what open_clip reads) and all captions plus the label as <c>KEY.json</c>;
/// an image without captions (an unpaired one) gets neither.
/// Each shard is written to a temporary name and renamed when complete; members carry a fixed time so the
/// same input gives byte-identical shards.</summary>
public sealed class WebDatasetWriter(string directory, string prefix, int samplesPerShard) : IDisposable
{
    TarWriter? _tar;
    string? _temporary,
        _final;
    int _inShard;

    public int ShardCount { get; private set; }
    public long SampleCount { get; private set; }

    /// <summary>The brace pattern naming every shard written so far, as <c>train_data</c> takes it.</summary>
    public string Pattern =>
        Path.Combine(
            directory,
            ShardCount == 1 ? $"{prefix}000000.tar" : $"{prefix}{{000000..{ShardCount - 1:000000}}}.tar"
        );

    public void Add(string imagePath, IReadOnlyList<string> captions, string? label)
    {
        var extension = Path.GetExtension(imagePath).TrimStart('.').ToLowerInvariant();
        if (extension.Length == 0)
            throw new InvalidDataException($"{imagePath}: image file has no extension to name its member by.");
        Add(File.ReadAllBytes(imagePath), extension, captions, label);
    }

    /// <summary>Adds an encoded image held in memory; <paramref name="extension"/> (png, jpg, …) names its
    /// member.</summary>
    public void Add(byte[] image, string extension, IReadOnlyList<string> captions, string? label)
    {
        if (_tar is null || _inShard == samplesPerShard)
            Open();
        var key = SampleCount.ToString("000000000", CultureInfo.InvariantCulture);
        Write($"{key}.{extension}", image);
        if (captions.Count > 0) // an image without captions is an unpaired sample: no caption member at all
        {
            Write($"{key}.txt", Encoding.UTF8.GetBytes(captions[0]));
            var json = new Dictionary<string, object?> { ["captions"] = captions };
            if (label is not null)
                json["label"] = label;
            Write($"{key}.json", JsonSerializer.SerializeToUtf8Bytes(json));
        }
        _inShard++;
        SampleCount++;
    }

    void Write(string name, byte[] data)
    {
        var entry = new UstarTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(data, writable: false),
            ModificationTime = DateTimeOffset.UnixEpoch,
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
        };
        _tar!.WriteEntry(entry);
    }

    void Open()
    {
        Close();
        Directory.CreateDirectory(directory);
        _final = Path.Combine(directory, $"{prefix}{ShardCount:000000}.tar");
        _temporary = _final + ".tmp";
        _tar = new TarWriter(new FileStream(_temporary, FileMode.Create, FileAccess.Write), leaveOpen: false);
        _inShard = 0;
        ShardCount++;
    }

    void Close()
    {
        if (_tar is null)
            return;
        _tar.Dispose();
        File.Move(_temporary!, _final!, overwrite: true);
        _tar = null;
    }

    public void Dispose() => Close();
}
